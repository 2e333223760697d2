package forwarder

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestTargetSeries: every scrape adds Prometheus' per-target series with
// the target's labels (up 1 or 0, samples before and after
// metric_relabel_configs, series added: all on the first scrape, none
// after); a static source whose relabel_configs drop its target is never
// scraped; relabel_configs can move a target (here: add __param_).
func TestTargetSeries(t *testing.T) {
	t.Parallel()
	ok := newE2ETarget(t, func(int) string { return "# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\n" })
	var droppedHits, movedHits atomic.Int64
	var movedQuery atomic.Value
	dropped := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { droppedHits.Add(1) }))
	t.Cleanup(dropped.Close)
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		movedHits.Add(1)
		movedQuery.Store(r.URL.RawQuery)
		fmt.Fprint(w, "m 1\n")
	}))
	t.Cleanup(moved.Close)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	downURL := down.URL
	down.Close() // connection refused from now on

	r := runFwd(t, fmt.Sprintf(`server: { listen: "" }
sources:
  - name: ok
    url: %s
    interval: 1s
    labels: {env: test}
    metric_relabel_configs:
      - {source_labels: [__name__], regex: b, action: drop}
  - name: down
    url: %s/metrics
    interval: 1s
  - name: dropped
    url: %s/metrics
    interval: 1s
    relabel_configs:
      - {source_labels: [__address__], regex: "nothing:1", action: keep}
  - name: moved
    url: %s/metrics
    interval: 1s
    params: {module: [a]}
    relabel_configs:
      - {target_label: __param_module, replacement: b}
sinks:
  - name: out
    type: stdout
    flush_interval: 50ms
`, ok.URL(), downURL, dropped.URL, moved.URL))
	awaitCond(t, "two scrapes of ok and an up of down", func() bool {
		n := 0
		for _, l := range r.out["out"].lines(t) {
			if l.Name == "scrape_series_added" && l.Labels["job"] == "ok" {
				n++
			}
		}
		return ok.Scrapes() >= 2 && n >= 2 && len(r.out["out"].linesOf(t, "down")) > 0 && movedHits.Load() > 0
	})
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	got := map[string][]float64{}
	for _, l := range r.out["out"].lines(t) {
		v, _ := l.Value.(float64)
		key := l.Labels["job"] + "/" + l.Name
		got[key] = append(got[key], v)
		if l.Labels["job"] == "ok" && (l.Labels["env"] != "test" || l.Labels["instance"] == "") {
			t.Errorf("%s without the target labels: %v", l.Name, l.Labels)
		}
	}
	for key, want := range map[string][]float64{
		"ok/up":                     {1},
		"ok/scrape_samples_scraped": {2},
		"ok/scrape_samples_post_metric_relabeling": {1},
		"ok/scrape_series_added":                   {1, 0},
		"down/up":                                  {0},
		"down/scrape_samples_scraped":              {0},
	} {
		if g := got[key]; len(g) < len(want) || fmt.Sprint(g[:len(want)]) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v first", key, g, want)
		}
	}
	if _, ok := got["ok/b"]; ok {
		t.Error("b was not dropped by metric_relabel_configs")
	}
	if len(got["ok/scrape_duration_seconds"]) == 0 {
		t.Error("no scrape_duration_seconds")
	}
	if n := droppedHits.Load(); n != 0 || len(r.out["out"].linesOf(t, "dropped")) != 0 {
		t.Errorf("a target dropped by relabel_configs was scraped %d times", n)
	}
	if q, _ := movedQuery.Load().(string); q != "module=b" {
		t.Errorf("moved target scraped with query %q, want module=b", q)
	}
}
