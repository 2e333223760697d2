package forwarder

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/sinks/stdout"
)

// gatedWriter holds every Write until open is called, so requests pile up
// in the sink's queue as they would behind a slow destination.
type gatedWriter struct {
	lineBuffer
	gate chan struct{}
	once sync.Once
}

func newGatedWriter() *gatedWriter { return &gatedWriter{gate: make(chan struct{})} }

func (g *gatedWriter) Write(p []byte) (int, error) {
	<-g.gate
	return g.lineBuffer.Write(p)
}

func (g *gatedWriter) open() { g.once.Do(func() { close(g.gate) }) }

// setWriter points the stdout sink name of cfg at w.
func setWriter(t *testing.T, cfg *config.Config, name string, w interface{ Write([]byte) (int, error) }) {
	t.Helper()
	for _, sc := range cfg.Sinks {
		if sc.Name == name {
			sc.Settings.(*stdout.Config).Writer = w
			return
		}
	}
	t.Fatalf("no sink %s", name)
}

func reloadYAML(sources string, changeBatch int) string {
	return fmt.Sprintf(`
shutdown_timeout: 10s
server:
  listen: ""
dedupe:
  enabled: true
  resend_after: 1h
sources:
%s
sinks:
  - name: keep
    type: stdout
    flush_interval: 100ms
  - name: change
    type: stdout
    flush_interval: 100ms
    max_batch_samples: %d
`, sources, changeBatch)
}

// TestReload adds a source and changes one sink while the other sink's
// destination is stuck: the unchanged sink keeps its runner, its queued
// requests and its dedupe memory (nothing is re-sent to it), the changed
// sink starts with fresh dedupe, the new source flows to both, and a new
// config that cannot be built leaves the running one untouched.
func TestReload(t *testing.T) {
	t.Parallel()
	t1 := newConstTarget(t, false, dedupeBody)
	t2 := newConstTarget(t, false, func(int) string { return "# TYPE second gauge\nsecond 1\n" })
	src1 := fmt.Sprintf("  - name: one\n    url: %s/metrics\n    interval: 1s\n    target_series: false\n", t1.URL)
	src2 := fmt.Sprintf("  - name: two\n    url: %s/metrics\n    interval: 1s\n    target_series: false\n", t2.URL)

	keepOut := newGatedWriter()
	cfg, out := loadRunConfig(t, reloadYAML(src1, 100))
	setWriter(t, cfg, "keep", keepOut)
	r := runConfig(t, cfg, out)
	t.Cleanup(keepOut.open) // before runConfig's cleanup stops the forwarder
	reg := r.f.Registry()
	changeOld := r.out["change"]

	scrapes := func(src string) float64 {
		return gatherValue(t, reg, "promfwd_source_scrapes_total", map[string]string{"source": src})
	}
	awaitCond(t, "source one delivered to the change sink", func() bool { return len(changeOld.lines(t)) >= dedupeSeries })
	r.f.mu.Lock()
	keepBefore, changeBefore := r.f.sinks["keep"], r.f.sinks["change"]
	r.f.mu.Unlock()
	awaitCond(t, "requests stuck in the keep sink", func() bool {
		st := keepBefore.runner.Stats()
		return st.QueuedRequests+st.InFlightRequests > 0
	})
	remembered := keepBefore.dedupe.Len()
	if remembered != dedupeSeries {
		t.Fatalf("keep sink remembers %d series, want %d", remembered, dedupeSeries)
	}

	// Reload: add source two, change sink "change".
	cfg2, _ := loadRunConfig(t, reloadYAML(src1+src2, 200))
	setWriter(t, cfg2, "keep", keepOut)
	changeNew := &lineBuffer{}
	setWriter(t, cfg2, "change", changeNew)
	if err := r.f.Reload(cfg2); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	r.f.mu.Lock()
	keepAfter, changeAfter := r.f.sinks["keep"], r.f.sinks["change"]
	one := r.f.sources["one"]
	r.f.mu.Unlock()
	if keepAfter != keepBefore || keepAfter.runner != keepBefore.runner || keepAfter.dedupe != keepBefore.dedupe {
		t.Fatal("unchanged sink keep was rebuilt by the reload")
	}
	if changeAfter == changeBefore {
		t.Fatal("changed sink was not rebuilt")
	}
	if one == nil {
		t.Fatal("source one gone after reload")
	}
	if n := gatherValue(t, reg, "promfwd_config_reloads_total", map[string]string{"result": "success"}); n != 1 {
		t.Errorf("reloads_total{result=success} = %v, want 1", n)
	}

	awaitCond(t, "source two delivered to the new change sink", func() bool {
		return len(changeNew.linesOf(t, "two")) == 1 && len(changeNew.linesOf(t, "one")) == dedupeSeries
	})
	before := scrapes("one")
	awaitCond(t, "two more scrapes of source one", func() bool { return scrapes("one") >= before+2 })

	// A config whose new source cannot be built (its CA file is missing)
	// is refused as a whole.
	bad := src1 + src2 + "  - name: three\n    url: https://127.0.0.1:1/metrics\n    interval: 1s\n    tls:\n      ca_file: " +
		t.TempDir() + "/missing-ca.pem\n"
	cfg3, _ := loadRunConfig(t, reloadYAML(bad, 300))
	setWriter(t, cfg3, "keep", keepOut)
	err := r.f.Reload(cfg3)
	if err == nil {
		t.Fatal("Reload accepted a source that cannot be built")
	}
	if !strings.Contains(err.Error(), "three") {
		t.Errorf("reload error does not name the source: %v", err)
	}
	if n := gatherValue(t, reg, "promfwd_config_reloads_total", map[string]string{"result": "failure"}); n != 1 {
		t.Errorf("reloads_total{result=failure} = %v, want 1", n)
	}
	if n := gatherValue(t, reg, "promfwd_config_last_reload_successful", nil); n != 0 {
		t.Errorf("last_reload_successful = %v after a failed reload, want 0", n)
	}
	r.f.mu.Lock()
	_, hasThree := r.f.sources["three"]
	stillChange := r.f.sinks["change"]
	stillCfg := r.f.cfg
	r.f.mu.Unlock()
	if hasThree || stillChange != changeAfter || stillCfg != cfg2 {
		t.Errorf("failed reload changed the running config (source three %v, change sink replaced %v, cfg replaced %v)",
			hasThree, stillChange != changeAfter, stillCfg != cfg2)
	}
	before = scrapes("two")
	awaitCond(t, "the old config keeps scraping after the failed reload", func() bool { return scrapes("two") >= before+2 })

	// Release the stuck destination and shut down: everything queued in
	// the keep sink before the reload arrives, each series exactly once.
	keepOut.open()
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for job, want := range map[string]int{"one": dedupeSeries, "two": 1} {
		if got := len(keepOut.linesOf(t, job)); got != want {
			t.Errorf("keep sink got %d lines of %s, want %d (queue and dedupe kept across reload)", got, job, want)
		}
		if got := len(changeNew.linesOf(t, job)); got != want {
			t.Errorf("new change sink got %d lines of %s, want %d", got, job, want)
		}
	}
	if got := len(changeOld.linesOf(t, "two")); got != 0 {
		t.Errorf("retired change sink got %d lines of the source added later", got)
	}
	if n := gatherValue(t, reg, "promfwd_sink_dropped_samples_total", map[string]string{"sink": "keep", "reason": "shutdown"}); n != 0 {
		t.Errorf("keep sink dropped %v samples at shutdown", n)
	}
}
