package forwarder

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// TestRunCacheControlMaxAgeCapped: a huge max-age stretches the next scrape
// by at most maxAgeIntervals intervals, and a reload asks again at once.
func TestRunCacheControlMaxAgeCapped(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var requests []time.Time
	clock := clockwork.NewFakeClockAt(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		requests = append(requests, clock.Now())
		mu.Unlock()
		w.Header().Set("Cache-Control", "max-age=2147483647")
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, dedupeBody(1))
	}))
	t.Cleanup(target.Close)
	f, _ := runFakeClock(t, clock, "huge", target.URL)
	scraped := func() float64 {
		return gatherValue(t, f.Registry(), "promfwd_source_samples_scraped_total", map[string]string{"source": "huge"})
	}
	nreq := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(requests)
	}
	// The interval is 1m: within 2*maxAgeIntervals+2 job runs the target
	// must have been asked at least twice more than once.
	runs := 2*maxAgeIntervals + 2
	for i := 1; i <= runs; i++ {
		advanceUntil(t, clock, time.Minute, fmt.Sprintf("job run %d", i), func() bool { return scraped() >= float64(i*dedupeSeries) })
	}
	if n := nreq(); n < 2 {
		t.Fatalf("%d requests in %d job runs a minute apart: max-age=2147483647 not capped", n, runs)
	}
	mu.Lock()
	for i := 1; i < len(requests); i++ {
		if gap := requests[i].Sub(requests[i-1]); gap < maxAgeIntervals*time.Minute {
			t.Errorf("request %d came %s after the previous one: the capped max-age (%d intervals) not honoured", i, gap, maxAgeIntervals)
		}
	}
	mu.Unlock()

	// A reload (same config) forgets the max-age: the next run asks again.
	before := nreq()
	cfg, _ := loadRunConfig(t, fmt.Sprintf(`
server:
  listen: ""
dedupe:
  enabled: true
  resend_after: 1h
sources:
  - name: huge
    url: %s/metrics
    interval: 1m
    timeout: 10s
sinks:
  - name: out
    type: stdout
    flush_interval: 50ms
`, target.URL))
	if err := f.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	advanceUntil(t, clock, time.Minute, "a request after reload", func() bool { return nreq() > before })
	mu.Lock()
	last := requests[before-1]
	mu.Unlock()
	if gap := clock.Since(last); gap >= maxAgeIntervals*time.Minute {
		t.Errorf("first request after reload came %s after the last one: the reload did not reset max-age", gap)
	}
}
