package forwarder

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/promfwd/promfwd/sinks/stdout"
)

// labelsOf returns the label sets of the stdout lines for metric name.
func (s *lineBuffer) labelsOf(t *testing.T, name string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, l := range s.lines(t) {
		if l.Name == name {
			out = append(out, l.Labels)
		}
	}
	return out
}

func writeSDFile(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // atomically, as file_sd writers should
		t.Fatal(err)
	}
}

// TestFileSDChangesWithoutRestart: targets listed in a file_sd file are
// scraped with their labels; editing the file adds and removes targets on
// the next refresh (a removed one ends its series with stale markers and
// its self-metrics), a broken edit keeps the last good targets, and a
// static source beside it is never disturbed.
func TestFileSDChangesWithoutRestart(t *testing.T) {
	a, b, c, static := newFleet(t), newFleet(t), newFleet(t), newFleet(t)
	rw := newRWCapture(t)
	dir := t.TempDir()
	sdFile := filepath.Join(dir, "sd", "targets.yaml")
	if err := os.Mkdir(filepath.Dir(sdFile), 0o755); err != nil {
		t.Fatal(err)
	}
	writeSDFile(t, sdFile, fmt.Sprintf("- targets: [%q, %q]\n  labels: {team: web}\n", a.host(), b.host()))
	yamlText := fmt.Sprintf(`
server: {listen: ""}
sources:
  - name: static
    url: %s/metrics
    interval: 1s
  - name: web
    file_sd_configs:
      - files: [sd/*.yaml]
        refresh_interval: 1s
    interval: 1s
    labels: {env: test}
sinks:
  - {name: out, type: stdout, flush_interval: 100ms}
  - {name: rw, type: remote_write, url: %q, flush_interval: 100ms}
`, static.srv.URL, rw.URL())
	cfg, err := load(filepath.Join(dir, "promfwd.yaml"), []byte(yamlText), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	var out lineBuffer
	cfg.Sinks[0].Settings.(*stdout.Config).Writer = &out
	r := runFleet(t, cfg, Options{})

	awaitCond(t, "a and b scraped", func() bool { return a.scraped("/metrics") && b.scraped("/metrics") })
	awaitCond(t, "a's samples delivered", func() bool {
		for _, l := range out.labelsOf(t, "fleet_up") {
			if l["instance"] == a.host() {
				return true
			}
		}
		return false
	})
	for _, l := range out.labelsOf(t, "fleet_up") {
		if l["instance"] == a.host() || l["instance"] == b.host() {
			if l["job"] != "web" || l["team"] != "web" || l["env"] != "test" {
				t.Errorf("file_sd target labels = %v, want job=web team=web env=test", l)
			}
		}
	}
	r.f.mu.Lock()
	staticJob := r.f.sources["static"]
	r.f.mu.Unlock()

	// Edit: a goes, c comes.
	writeSDFile(t, sdFile, fmt.Sprintf("- targets: [%q, %q]\n  labels: {team: web}\n", b.host(), c.host()))
	awaitCond(t, "c scraped after the edit", func() bool { return c.scraped("/metrics") })
	wantTargets := []string{"static", "web/" + b.host(), "web/" + c.host()}
	slices.Sort(wantTargets)
	if got := r.f.Targets(); !reflect.DeepEqual(got, wantTargets) {
		t.Errorf("targets after edit = %v, want %v", got, wantTargets)
	}
	aCount, bCount := a.count("/metrics"), b.count("/metrics")
	awaitCond(t, "b scraped twice more", func() bool { return b.count("/metrics") >= bCount+2 })
	if n := a.count("/metrics"); n > aCount+1 { // one scrape may have been in flight
		t.Errorf("removed target still scraped: %d scrapes after removal", n-aCount)
	}
	// Its series end with a stale marker, as when Prometheus drops a target.
	awaitCond(t, "a stale marker for the removed target", func() bool {
		return rw.staleFor(map[string]string{"__name__": "fleet_up", "instance": a.host(), "job": "web"})
	})

	// A broken edit keeps the last good targets and is logged once.
	writeSDFile(t, sdFile, "- targets: [\n")
	awaitCond(t, "the broken file logged", func() bool {
		return r.logs.FilterMessageSnippet("keeping the last good targets").Len() > 0
	})
	cCount := c.count("/metrics")
	awaitCond(t, "c still scraped", func() bool { return c.count("/metrics") >= cCount+2 })
	if got := r.f.Targets(); !reflect.DeepEqual(got, wantTargets) {
		t.Errorf("targets after a broken edit = %v, want %v", got, wantTargets)
	}
	if n := r.logs.FilterMessageSnippet("keeping the last good targets").Len(); n != 1 {
		t.Errorf("broken file logged %d times, want once", n)
	}

	// The file goes away: its targets go too.
	if err := os.Remove(sdFile); err != nil {
		t.Fatal(err)
	}
	awaitCond(t, "targets of the removed file dropped", func() bool {
		return reflect.DeepEqual(r.f.Targets(), []string{"static"})
	})
	upSources := func() []string {
		mfs, err := r.f.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, mf := range mfs {
			if mf.GetName() != "promfwd_source_up" {
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
		return out
	}
	awaitCond(t, "self-metrics of removed targets forgotten", func() bool {
		return reflect.DeepEqual(upSources(), []string{"static"})
	})
	r.f.mu.Lock()
	same := r.f.sources["static"] == staticJob
	r.f.mu.Unlock()
	if !same {
		t.Error("the static source was rebuilt by file_sd changes")
	}
}
