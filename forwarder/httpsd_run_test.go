package forwarder

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/promfwd/promfwd/scrape"
)

// httpSD is a Prometheus HTTP SD endpoint whose answer the test sets: a
// target list, an HTTP 500, or a body that is not JSON.
type httpSD struct {
	srv   *httptest.Server
	mu    sync.Mutex
	mode  string // "list", "500", "garbage"
	list  []map[string]any
	calls int
}

func newHTTPSD(t *testing.T) *httpSD {
	t.Helper()
	s := &httpSD{mode: "list"}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls++
		switch s.mode {
		case "500":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "garbage":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "[{\"targets\": [\"x:1\"")
		default:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(s.list)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// set serves one group per target, labelled with its team.
func (s *httpSD) set(team string, hosts ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode, s.list = "list", nil
	for _, h := range hosts {
		s.list = append(s.list, map[string]any{"targets": []string{h}, "labels": map[string]string{"team": team}})
	}
}

func (s *httpSD) fail(mode string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = mode
	return s.calls
}

func (s *httpSD) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// sourceLabels lists the source label values of a self-metric, sorted.
func sourceLabels(t *testing.T, f *Forwarder, metric string) []string {
	t.Helper()
	mfs, err := f.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "source" {
					out = append(out, l.GetValue())
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestHTTPSDChurnAndFailures: targets from an HTTP SD endpoint are scraped
// with their group's labels and the __meta_url relabel_configs can use; a
// changed list adds and removes targets without a restart (a removed one
// gets stale markers and loses its self-metrics); a failing endpoint (500,
// then a body that is not JSON) keeps the last good targets and is logged
// once; when it works again that is logged once and changes apply again.
func TestHTTPSDChurnAndFailures(t *testing.T) {
	a, b, c, d := newFleet(t), newFleet(t), newFleet(t), newFleet(t)
	sd := newHTTPSD(t)
	sd.set("web", a.host(), b.host())
	rw := newRWCapture(t)
	r := runFleetConfig(t, "/etc/promfwd/promfwd.yaml", fmt.Sprintf(`
server: {listen: ""}
sources:
  - name: web
    http_sd_configs:
      - url: %s/targets
        refresh_interval: 1s
    relabel_configs:
      - {source_labels: [__meta_url], target_label: sd_url}
    interval: 1s
sinks:
  - {name: rw, type: remote_write, url: %q, flush_interval: 100ms}
`, sd.srv.URL, rw.URL()), "", Options{SDUpdateEvery: -1})
	targets := func(hosts ...string) []string { return targetNames("web", hosts) }

	awaitCond(t, "a and b scraped", func() bool { return a.scraped("/metrics") && b.scraped("/metrics") })
	awaitCond(t, "a's samples with the group's and the relabeled labels", func() bool {
		return rw.has(map[string]string{"__name__": "fleet_up", "instance": a.host(), "job": "web",
			"team": "web", "path": "/metrics", "sd_url": sd.srv.URL + "/targets"})
	})

	// The list changes: a goes, c comes.
	sd.set("web", b.host(), c.host())
	awaitCond(t, "c scraped after the change", func() bool { return c.scraped("/metrics") })
	if got, want := r.f.Targets(), targets(b.host(), c.host()); !reflect.DeepEqual(got, want) {
		t.Errorf("targets after the change = %v, want %v", got, want)
	}
	awaitCond(t, "a stale marker for the removed target", func() bool {
		return rw.staleFor(map[string]string{"__name__": "fleet_up", "instance": a.host(), "job": "web"})
	})
	awaitCond(t, "self-metrics of the removed target forgotten", func() bool {
		return reflect.DeepEqual(sourceLabels(t, r.f, "promfwd_source_up"), targets(b.host(), c.host()))
	})

	// The endpoint fails: 500, then garbage. The targets stay; one log line.
	failures := func() float64 {
		return gatherValue(t, r.f.Registry(), "prometheus_sd_refresh_failures_total", map[string]string{"mechanism": "http", "config": "web"})
	}
	sd.fail("500")
	awaitCond(t, "two failed refreshes with 500", func() bool { return failures() >= 2 })
	sd.fail("garbage")
	f0 := failures()
	awaitCond(t, "two failed refreshes with garbage", func() bool { return failures() >= f0+2 })
	cCount := c.count("/metrics")
	awaitCond(t, "c still scraped", func() bool { return c.count("/metrics") >= cCount+1 })
	if got, want := r.f.Targets(), targets(b.host(), c.host()); !reflect.DeepEqual(got, want) {
		t.Errorf("targets while the endpoint fails = %v, want %v", got, want)
	}
	if n := r.logs.FilterMessageSnippet("discovery failing").Len(); n != 1 {
		t.Errorf("failing endpoint logged %d times over %v failed refreshes, want once", n, failures())
	}

	// It works again, with a new list.
	sd.set("db", d.host())
	awaitCond(t, "d scraped after recovery", func() bool { return d.scraped("/metrics") })
	awaitCond(t, "only d left", func() bool { return reflect.DeepEqual(r.f.Targets(), targets(d.host())) })
	if n := r.logs.FilterMessageSnippet("discovery working again").Len(); n != 1 {
		t.Errorf("recovery logged %d times, want once", n)
	}
}

// has reports whether a sample (not a stale marker) arrived whose labels
// are exactly want.
func (c *rwCapture) has(want map[string]string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.got {
		if math.Float64bits(s.value) != scrape.StaleNaN && maps.Equal(s.labels, want) {
			return true
		}
	}
	return false
}
