package forwarder

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/promfwd/promfwd/forwarder/config"
)

// TestReloadKeepsDiscoverers: a reload that changes only a discovering
// source's relabel_configs keeps its discoverers and what they found: its
// targets are there, relabeled anew, as soon as Reload returns, without
// waiting for the discovery to answer again. A reload that removes the
// source removes its targets and its refresh metrics.
func TestReloadKeepsDiscoverers(t *testing.T) {
	a := newFleet(t)
	sd := newHTTPSD(t)
	sd.set("web", a.host())
	text := func(extra string) string {
		return fmt.Sprintf(`
server: {listen: ""}
sources:
  - name: web
    http_sd_configs: [{url: %q, refresh_interval: 1h}]
    interval: 1s
    relabel_configs:
      - {target_label: env, replacement: %s}
  - {name: static, url: "%s/static", interval: 1h}
sinks: [{name: out, type: stdout}]
`, sd.srv.URL+"/targets", extra, a.srv.URL)
	}
	loadText := func(s string) *config.Config {
		t.Helper()
		cfg, _ := loadRunConfig(t, s)
		return cfg
	}
	r := runFleet(t, loadText(text("one")), Options{SDUpdateEvery: -1})
	want := []string{"static", "web/" + a.host()}
	awaitCond(t, "the discovered target", func() bool { return reflect.DeepEqual(r.f.Targets(), want) })
	calls := sd.callCount()

	if err := r.f.Reload(loadText(text("two"))); err != nil {
		t.Fatal(err)
	}
	if got := r.f.Targets(); !reflect.DeepEqual(got, want) {
		t.Fatalf("targets right after a relabel-only reload = %v, want %v", got, want)
	}
	r.f.mu.Lock()
	env := r.f.sources["web/"+a.host()].src.cfg.Labels["env"]
	r.f.mu.Unlock()
	if env != "two" {
		t.Errorf("target label env after reload = %q, want two", env)
	}
	if n := sd.callCount(); n != calls {
		t.Errorf("the reload asked the SD endpoint again (%d calls, was %d); its discoverer should carry over", n, calls)
	}

	// The source goes: its target and its discovery metrics go with it.
	if err := r.f.Reload(loadText(fmt.Sprintf(`
server: {listen: ""}
sources:
  - {name: static, url: "%s/static", interval: 1h}
sinks: [{name: out, type: stdout}]
`, a.srv.URL))); err != nil {
		t.Fatal(err)
	}
	if got := r.f.Targets(); !reflect.DeepEqual(got, []string{"static"}) {
		t.Errorf("targets after removing the source = %v", got)
	}
	awaitCond(t, "refresh metrics of the removed source deleted", func() bool {
		mfs, _ := r.f.Registry().Gather()
		for _, mf := range mfs {
			if mf.GetName() == "prometheus_sd_refresh_duration_seconds" && len(mf.GetMetric()) > 0 {
				return false
			}
		}
		return true
	})
}
