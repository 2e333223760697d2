package forwarder

import (
	"runtime"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// TestBuildInfoAndReloadMetrics: promfwd_build_info names the version and Go
// version; the time of the running config is the load time until a reload
// succeeds; a rejected file counts as a failed reload and leaves it.
func TestBuildInfoAndReloadMetrics(t *testing.T) {
	cfg, _ := loadRunConfig(t, `
server:
  listen: ""
sources:
  - name: a
    url: http://127.0.0.1:1/metrics
sinks:
  - name: out
    type: stdout
`)
	t0 := time.Unix(1_800_000_000, 0)
	clock := clockwork.NewFakeClockAt(t0)
	f, err := New(cfg, Options{Clock: clock, Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.closeAll()
	reg := f.Registry()
	if v := gatherValue(t, reg, "promfwd_build_info", map[string]string{"version": "1.2.3", "goversion": runtime.Version(), "revision": vcsRevision()}); v != 1 {
		t.Errorf("promfwd_build_info{version=1.2.3,goversion=%s} = %v, want 1", runtime.Version(), v)
	}
	if v := gatherValue(t, reg, "promfwd_config_last_reload_success_timestamp_seconds", nil); v != float64(t0.Unix()) {
		t.Errorf("last_reload_success_timestamp_seconds = %v, want the load time %d", v, t0.Unix())
	}
	if v := gatherValue(t, reg, "promfwd_config_last_reload_successful", nil); v != 1 {
		t.Errorf("last_reload_successful = %v at start, want 1", v)
	}
	clock.Advance(time.Minute)
	f.ReloadRejected()
	if v := gatherValue(t, reg, "promfwd_config_reloads_total", map[string]string{"result": "failure"}); v != 1 {
		t.Errorf("reloads_total{failure} = %v, want 1", v)
	}
	if v := gatherValue(t, reg, "promfwd_config_last_reload_successful", nil); v != 0 {
		t.Errorf("last_reload_successful = %v after a rejected file, want 0", v)
	}
	if v := gatherValue(t, reg, "promfwd_config_last_reload_success_timestamp_seconds", nil); v != float64(t0.Unix()) {
		t.Errorf("a failed reload moved the last good config time to %v", v)
	}
}
