package forwarder

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// aggTickYAML is one source scraped every interval into a stdout sink,
// aggregating `runs` into 1s windows when agg is set.
func aggTickYAML(source, url, interval string, agg bool) string {
	y := fmt.Sprintf(`
server:
  listen: ""
sources:
  - name: %s
    url: %s
    interval: %s
    target_series: false
sinks:
  - name: console
    type: stdout
`, source, url, interval)
	if agg {
		y += `    aggregate:
      - match: runs
        interval: 1s
        without: [ws, instance]
        outputs: [sum]
        max_lateness: 100ms
`
	}
	return y
}

// TestAggregateTickOnlyWhileAggregating: the aggregate-tick job exists only
// while a sink aggregates (it woke idle processes every second for
// nothing), follows reloads both ways, and still flushes a due window when
// no scrape comes to do it.
func TestAggregateTickOnlyWhileAggregating(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "# TYPE runs gauge\nruns{ws=\"a\"} 2\nruns{ws=\"b\"} 5\n")
	}))
	t.Cleanup(target.Close)
	url := target.URL + "/metrics"
	ticking := func(r *runningFwd) bool {
		r.f.mu.Lock()
		defer r.f.mu.Unlock()
		return r.f.aggTick != nil
	}

	r := runFwd(t, aggTickYAML("plain", url, "1s", false))
	if ticking(r) {
		t.Fatal("aggregate-tick scheduled although no sink aggregates")
	}
	cfg, _ := loadRunConfig(t, aggTickYAML("plain", url, "1s", true))
	if err := r.f.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if !ticking(r) {
		t.Fatal("aggregate-tick not scheduled after a reload added aggregation")
	}
	cfg, _ = loadRunConfig(t, aggTickYAML("plain", url, "1s", false))
	if err := r.f.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if ticking(r) {
		t.Fatal("aggregate-tick still scheduled after a reload removed aggregation")
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}

	// A source scraped once an hour, early in the first minute: after its
	// first scrape only the tick can end the window.
	name := ""
	for i := 0; name == ""; i++ {
		if n := fmt.Sprintf("hourly-%d", i); startOffset(n, time.Hour) < 500*time.Millisecond {
			name = n
		}
	}
	cfg, out := loadRunConfig(t, aggTickYAML(name, url, "1h", true))
	r = runConfig(t, cfg, out)
	if !ticking(r) {
		t.Fatal("aggregate-tick not scheduled although a sink aggregates")
	}
	const want = `"name":"runs:1s_without_instance_ws_sum_samples","labels":{"job":"` // value 7
	deadline := time.Now().Add(runWait)
	for !strings.Contains(out["console"].String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no aggregate within %v of one scrape; stdout:\n%s", runWait, out["console"].String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
