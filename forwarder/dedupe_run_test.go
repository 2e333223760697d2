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

// constTarget serves a body that changes only when the test says so. With
// etags it answers conditional GETs: If-None-Match equal to the current
// ETag gets 304 Not Modified.
type constTarget struct {
	*httptest.Server
	etags bool

	mu          sync.Mutex
	version     int
	requests    int
	notModified int
	firstServed map[int]time.Time // version -> first 200 answer carrying it
	conditional int               // requests that carried If-None-Match
}

func newConstTarget(t *testing.T, etags bool, body func(version int) string) *constTarget {
	t.Helper()
	ct := &constTarget{etags: etags, version: 1, firstServed: map[int]time.Time{}}
	ct.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct.mu.Lock()
		ct.requests++
		v := ct.version
		etag := fmt.Sprintf(`"v%d"`, v)
		inm := r.Header.Get("If-None-Match")
		if inm != "" {
			ct.conditional++
		}
		if ct.etags && inm == etag {
			ct.notModified++
			ct.mu.Unlock()
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if _, ok := ct.firstServed[v]; !ok {
			ct.firstServed[v] = time.Now()
		}
		ct.mu.Unlock()
		if ct.etags {
			w.Header().Set("ETag", etag)
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, body(v))
	}))
	t.Cleanup(ct.Close)
	return ct
}

func (ct *constTarget) set(version int) {
	ct.mu.Lock()
	ct.version = version
	ct.mu.Unlock()
}

func (ct *constTarget) stats() (requests, notModified, conditional int) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return ct.requests, ct.notModified, ct.conditional
}

func (ct *constTarget) served(version int) (time.Time, bool) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	at, ok := ct.firstServed[version]
	return at, ok
}

// dedupeBody: version 2 changes one gauge only.
func dedupeBody(version int) string {
	changing := 1
	if version >= 2 {
		changing = 10
	}
	return fmt.Sprintf(`# TYPE d_value gauge
d_value{k="changing"} %d
d_value{k="fixed"} 2
# TYPE d_total counter
d_total 42
# TYPE d_latency histogram
d_latency_bucket{le="1"} 3
d_latency_bucket{le="+Inf"} 4
d_latency_sum 2.5
d_latency_count 4
`, changing)
}

const dedupeSeries = 7

// TestRunDedupe scrapes constant targets (one answering conditional GETs
// with 304, one returning a byte-identical body) with dedupe on and a 1h
// heartbeat: each series goes out once, the rest counts as skipped, a
// changed value goes out on the very next scrape, and unchanged answers are
// not parsed.
func TestRunDedupe(t *testing.T) {
	t.Parallel()
	etag := newConstTarget(t, true, dedupeBody)
	same := newConstTarget(t, false, dedupeBody)
	r := runFwd(t, fmt.Sprintf(`
shutdown_timeout: 10s
server:
  listen: ""
dedupe:
  enabled: true
  resend_after: 1h
sources:
  - name: etag
    url: %s/metrics
    target_series: false
    interval: 1s
  - name: same
    url: %s/metrics
    target_series: false
    interval: 1s
sinks:
  - name: out
    type: stdout
    flush_interval: 100ms
`, etag.URL, same.URL))
	reg := r.f.Registry()
	out := r.out["out"]
	scrapes := func(src string) float64 {
		return gatherValue(t, reg, "promfwd_source_scrapes_total", map[string]string{"source": src})
	}
	awaitCond(t, "3 scrapes of each source", func() bool { return scrapes("etag") >= 3 && scrapes("same") >= 3 })
	awaitCond(t, "first scrapes delivered", func() bool { return len(out.lines(t)) >= 2*dedupeSeries })

	perSeries := func(job string) map[string][]outLine {
		m := map[string][]outLine{}
		for _, l := range out.linesOf(t, job) {
			k := l
			k.TimeMs, k.Value = 0, nil
			m[k.key()] = append(m[k.key()], l)
		}
		return m
	}
	for _, job := range []string{"etag", "same"} {
		series := perSeries(job)
		if len(series) != dedupeSeries {
			t.Errorf("%s: %d series delivered, want %d", job, len(series), dedupeSeries)
		}
		for k, ls := range series {
			if len(ls) != 1 {
				t.Errorf("%s: %s delivered %d times over >= 3 unchanged scrapes, want once", job, k, len(ls))
			}
		}
	}

	// A change goes out on the next scrape, and only the changed series.
	etag.set(2)
	same.set(2)
	isChanged := func(l outLine) bool { return l.Labels["k"] == "changing" && l.Value == 10.0 }
	awaitCond(t, "the changed value delivered from both sources", func() bool {
		n := 0
		for _, l := range out.lines(t) {
			if isChanged(l) {
				n++
			}
		}
		return n == 2
	})
	after := scrapes("etag")
	awaitCond(t, "two more scrapes after the change", func() bool { return scrapes("etag") >= after+2 && scrapes("same") >= after+2 })
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}

	for _, job := range []string{"etag", "same"} {
		src := map[string]*constTarget{"etag": etag, "same": same}[job]
		first, ok := src.served(2)
		if !ok {
			t.Fatalf("%s: version 2 never served", job)
		}
		for k, ls := range perSeries(job) {
			want := 1
			if ls[0].Labels["k"] == "changing" {
				want = 2
			}
			if len(ls) != want {
				t.Errorf("%s: %s delivered %d times, want %d", job, k, len(ls), want)
			}
			for _, l := range ls {
				// Stamped by the scrape that first got the new body (stamps
				// are taken before the request), not by a later one.
				if isChanged(l) && l.TimeMs > first.UnixMilli() {
					t.Errorf("%s: changed value stamped %d, first served at %d: not sent by the next scrape",
						job, l.TimeMs, first.UnixMilli())
				}
			}
		}
		scraped := gatherValue(t, reg, "promfwd_source_samples_scraped_total", map[string]string{"source": job})
		skipped := gatherValue(t, reg, "promfwd_sink_samples_skipped_unchanged_total", map[string]string{"source": job, "sink": "out"})
		delivered := len(out.linesOf(t, job))
		if delivered != dedupeSeries+1 || skipped != scraped-float64(delivered) {
			t.Errorf("%s: scraped %v samples, delivered %d, skipped %v: want delivered %d and skipped = scraped - delivered",
				job, scraped, delivered, skipped, dedupeSeries+1)
		}
		// Every scrape but the first and the change came back unchanged
		// (304 or byte-identical) and was not parsed.
		unchanged := gatherValue(t, reg, "promfwd_source_unchanged_scrapes_total", map[string]string{"source": job})
		if unchanged < scraped/dedupeSeries-2 || unchanged < 3 {
			t.Errorf("%s: %v unchanged scrapes out of %v, want all but 2", job, unchanged, scraped/dedupeSeries)
		}
	}

	req, notModified, conditional := etag.stats()
	if conditional < req-2 || notModified < 3 {
		t.Errorf("etag target: %d requests, %d with If-None-Match, %d answered 304: conditional GET not used", req, conditional, notModified)
	}
	if _, _, conditional := same.stats(); conditional != 0 {
		t.Errorf("target without ETag got %d conditional requests", conditional)
	}
}

// TestRunDedupeHeartbeatFakeClock drives the running service with a fake
// clock (the scheduler and dedupe share it): ten scrapes of an unchanged body send
// each series once; once resend_after has passed on the clock, the next
// scrape sends every series again, stamped with the clock's time.
func TestRunDedupeHeartbeatFakeClock(t *testing.T) {
	t.Parallel()
	target := newConstTarget(t, false, dedupeBody)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(start)
	f, out := runFakeClock(t, clock, "fake", target.URL)
	requests := func() int { n, _, _ := target.stats(); return n }
	// step advances the clock by d until the target sees one more scrape
	// and its samples went through dedupe (each request is one scrape).
	step := func(d time.Duration) {
		t.Helper()
		want := requests() + 1
		advanceUntil(t, clock, d, "a scrape", func() bool { return requests() >= want })
		awaitCond(t, "the scrape to finish", func() bool {
			return gatherValue(t, f.Registry(), "promfwd_source_samples_scraped_total", map[string]string{"source": "fake"}) >= float64(want*dedupeSeries)
		})
	}
	for range 10 {
		step(time.Minute)
	}
	if elapsed := clock.Since(start); elapsed >= time.Hour {
		t.Fatalf("ten scrapes took %s on the fake clock; the heartbeat would have fired", elapsed)
	}
	awaitCond(t, "the first scrape printed", func() bool { return len(out.lines(t)) >= dedupeSeries })
	if n := len(out.lines(t)); n != dedupeSeries {
		t.Fatalf("%d lines after 10 unchanged scrapes, want %d (each series once)", n, dedupeSeries)
	}
	skipped := gatherValue(t, f.Registry(), "promfwd_sink_samples_skipped_unchanged_total", map[string]string{"source": "fake", "sink": "out"})
	if skipped != 9*dedupeSeries {
		t.Errorf("skipped %v, want %d", skipped, 9*dedupeSeries)
	}

	// Past the heartbeat: the next scrape sends everything again.
	clock.Advance(time.Hour)
	heartbeatAt := clock.Now()
	step(time.Minute)
	awaitCond(t, "the heartbeat resend", func() bool { return len(out.lines(t)) >= 2*dedupeSeries })
	lines := out.lines(t)
	if len(lines) != 2*dedupeSeries {
		t.Fatalf("%d lines after the heartbeat, want %d", len(lines), 2*dedupeSeries)
	}
	for _, l := range lines[dedupeSeries:] {
		if l.TimeMs < heartbeatAt.UnixMilli() {
			t.Errorf("resent %s stamped %s, before the heartbeat at %s", l.Name, time.UnixMilli(l.TimeMs).UTC(), heartbeatAt)
		}
	}
	for _, l := range lines[:dedupeSeries] {
		// The fake clock's time, as of the first scrape.
		if l.TimeMs != lines[0].TimeMs || l.TimeMs < start.UnixMilli() || l.TimeMs >= start.Add(time.Hour).UnixMilli() {
			t.Errorf("first %s stamped %s, want the fake clock's first scrape", l.Name, time.UnixMilli(l.TimeMs).UTC())
		}
	}
}

// TestRunCacheControlMaxAge: a target that says its answer stays fresh
// (Cache-Control: max-age) is not asked again until then; the scrapes in
// between reuse the answer, so dedupe still sees the values.
func TestRunCacheControlMaxAge(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var requests []time.Time
	clock := clockwork.NewFakeClockAt(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		requests = append(requests, clock.Now())
		mu.Unlock()
		w.Header().Set("Cache-Control", "max-age=300")
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, dedupeBody(1))
	}))
	t.Cleanup(target.Close)
	f, _ := runFakeClock(t, clock, "cached", target.URL)
	scraped := func() float64 {
		return gatherValue(t, f.Registry(), "promfwd_source_samples_scraped_total", map[string]string{"source": "cached"})
	}
	// Run the job 8 times, a minute (or more) apart on the fake clock.
	for i := 1; i <= 8; i++ {
		advanceUntil(t, clock, time.Minute, fmt.Sprintf("job run %d", i), func() bool { return scraped() >= float64(i*dedupeSeries) })
	}
	mu.Lock()
	defer mu.Unlock()
	runs := int(scraped()) / dedupeSeries
	if len(requests) < 2 || len(requests) >= runs {
		t.Fatalf("%d requests for %d job runs: max-age not honoured", len(requests), runs)
	}
	for i := 1; i < len(requests); i++ {
		if gap := requests[i].Sub(requests[i-1]); gap < 5*time.Minute {
			t.Errorf("request %d came %s after the previous one, within its max-age of 5m", i, gap)
		}
	}
	skipped := gatherValue(t, f.Registry(), "promfwd_sink_samples_skipped_unchanged_total", map[string]string{"source": "cached", "sink": "out"})
	if want := (runs - 1) * dedupeSeries; skipped != float64(want) {
		t.Errorf("skipped %v, want %d (every run after the first deduped)", skipped, want)
	}
}

// runFakeClock runs the service on clock with dedupe on (1h heartbeat), one
// source scraping url every minute and a stdout sink, whose buffer it
// returns. At cleanup it stops the service and checks Run's error.
func runFakeClock(t *testing.T, clock *clockwork.FakeClock, source, url string) (*Forwarder, *lineBuffer) {
	t.Helper()
	cfg, out := loadRunConfig(t, fmt.Sprintf(`
server:
  listen: ""
dedupe:
  enabled: true
  resend_after: 1h
sources:
  - name: %s
    url: %s/metrics
    target_series: false
    interval: 1m
    timeout: 10s
sinks:
  - name: out
    type: stdout
    flush_interval: 50ms
`, source, url))
	r := runWith(t, cfg, out, Options{Clock: clock})
	t.Cleanup(func() {
		if err := r.stop(t); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r.f, out["out"]
}

// advanceUntil advances clock by d, again and again (the scheduler may not
// have armed its timer yet), until cond holds or runWait passes.
func advanceUntil(t *testing.T, clock *clockwork.FakeClock, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(runWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after advancing the clock to %s", what, clock.Now())
		}
		clock.Advance(d)
		time.Sleep(20 * time.Millisecond)
	}
}
