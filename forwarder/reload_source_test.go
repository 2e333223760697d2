package forwarder

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/promfwd/promfwd/scrape"
)

// bodyTarget serves a body the test can change, counting the scrapes that
// carry the X-Gen header value it is asked about.
type bodyTarget struct {
	srv  *httptest.Server
	mu   sync.Mutex
	body string
	gens map[string]int
}

func newBodyTarget(t *testing.T, body string) *bodyTarget {
	t.Helper()
	bt := &bodyTarget{body: body, gens: map[string]int{}}
	bt.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bt.mu.Lock()
		bt.gens[r.Header.Get("X-Gen")]++
		b := bt.body
		bt.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, b)
	}))
	t.Cleanup(bt.srv.Close)
	return bt
}

func (bt *bodyTarget) set(body string) {
	bt.mu.Lock()
	bt.body = body
	bt.mu.Unlock()
}

func (bt *bodyTarget) scrapesWith(gen string) int {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	return bt.gens[gen]
}

// count returns how many samples (stale markers or not) rw received for a
// series with all of the want labels.
func (c *rwCapture) count(want map[string]string, stale bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
outer:
	for _, s := range c.got {
		if (math.Float64bits(s.value) == scrape.StaleNaN) != stale {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue outer
			}
		}
		n++
	}
	return n
}

func reloadSourcesYAML(rwURL string, sources ...string) string {
	return fmt.Sprintf(`
shutdown_timeout: 10s
server: {listen: ""}
sources:
%s
sinks:
  - {name: rw, type: remote_write, url: %q, flush_interval: 100ms}
`, strings.Join(sources, ""), rwURL)
}

func staticSource(name, url, gen string) string {
	return fmt.Sprintf("  - name: %s\n    url: %s/metrics\n    interval: 1s\n    headers: {X-Gen: %q}\n", name, url, gen)
}

// TestReloadRemovedSourceSaysGoodbye: a static source dropped by a reload
// ends its series with stale markers at its sinks and its self-metric
// series are deleted, as a vanished file_sd target's are; the source that
// stays is untouched.
func TestReloadRemovedSourceSaysGoodbye(t *testing.T) {
	t.Parallel()
	rw := newRWCapture(t)
	a := newBodyTarget(t, "# TYPE gone_metric gauge\ngone_metric{k=\"1\"} 1\ngone_metric{k=\"2\"} 2\n")
	b := newBodyTarget(t, "# TYPE stay_metric gauge\nstay_metric 1\n")
	cfg, out := loadRunConfig(t, reloadSourcesYAML(rw.URL(), staticSource("a", a.srv.URL, "1"), staticSource("b", b.srv.URL, "1")))
	r := runConfig(t, cfg, out)
	awaitCond(t, "both sources delivered", func() bool {
		return rw.count(map[string]string{"__name__": "gone_metric", "job": "a"}, false) >= 2 &&
			rw.count(map[string]string{"__name__": "stay_metric", "job": "b"}, false) >= 1
	})
	upOf := func(src string) bool {
		mfs, err := r.f.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "source" && l.GetValue() == src {
						return true
					}
				}
			}
		}
		return false
	}
	if !upOf("a") {
		t.Fatal("no self-metrics for source a before the reload")
	}
	r.f.mu.Lock()
	bJob := r.f.sources["b"]
	r.f.mu.Unlock()

	cfg2, _ := loadRunConfig(t, reloadSourcesYAML(rw.URL(), staticSource("b", b.srv.URL, "1")))
	if err := r.f.Reload(cfg2); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	for _, k := range []string{"1", "2"} {
		awaitCond(t, "a stale marker for gone_metric{k="+k+"}", func() bool {
			return rw.count(map[string]string{"__name__": "gone_metric", "job": "a", "k": k}, true) == 1
		})
	}
	awaitCond(t, "self-metrics of source a deleted", func() bool { return !upOf("a") })
	r.f.mu.Lock()
	same := r.f.sources["b"] == bJob
	r.f.mu.Unlock()
	if !same {
		t.Error("unchanged source b was rebuilt")
	}
	if n := rw.count(map[string]string{"job": "b"}, true); n != 0 {
		t.Errorf("%d stale markers for the source that stayed", n)
	}
	if !upOf("b") {
		t.Error("self-metrics of source b deleted")
	}
}

// TestReloadChangedSourceKeepsStaleness: a source whose config changes but
// whose name stays hands its staleness state to the rebuilt source: a series
// that vanishes after the change gets a stale marker, one that continues
// gets none, and its self-metrics carry on.
func TestReloadChangedSourceKeepsStaleness(t *testing.T) {
	t.Parallel()
	rw := newRWCapture(t)
	c := newBodyTarget(t, "# TYPE keep_metric gauge\nkeep_metric 1\n# TYPE drop_metric gauge\ndrop_metric 1\n")
	cfg, out := loadRunConfig(t, reloadSourcesYAML(rw.URL(), staticSource("c", c.srv.URL, "1")))
	r := runConfig(t, cfg, out)
	awaitCond(t, "source c delivered", func() bool {
		return rw.count(map[string]string{"__name__": "drop_metric", "job": "c"}, false) >= 1
	})

	c.set("# TYPE keep_metric gauge\nkeep_metric 2\n")
	cfg2, _ := loadRunConfig(t, reloadSourcesYAML(rw.URL(), staticSource("c", c.srv.URL, "2")))
	if err := r.f.Reload(cfg2); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	awaitCond(t, "a stale marker for drop_metric", func() bool {
		return rw.count(map[string]string{"__name__": "drop_metric", "job": "c"}, true) == 1
	})
	// Two more scrapes of the rebuilt source, each delivered: keep_metric
	// must never have been marked stale.
	n := c.scrapesWith("2")
	awaitCond(t, "two more scrapes with the new config", func() bool { return c.scrapesWith("2") >= n+2 })
	awaitCond(t, "keep_metric 2 delivered", func() bool {
		return rw.count(map[string]string{"__name__": "keep_metric", "job": "c"}, false) >= 2
	})
	if got := rw.count(map[string]string{"__name__": "keep_metric"}, true); got != 0 {
		t.Errorf("%d stale markers for keep_metric, which continues", got)
	}
	if v := gatherValue(t, r.f.Registry(), "promfwd_source_stale_markers_total", map[string]string{"source": "c"}); v != 1 {
		t.Errorf("stale markers counted for c = %v, want 1", v)
	}
}
