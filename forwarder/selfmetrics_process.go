package forwarder

import (
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// processMetrics are the process-wide self-metrics: what is running and
// how its config reloads went, named as Prometheus names its own.
type processMetrics struct {
	reloads        *prometheus.CounterVec
	lastReloadOK   prometheus.Gauge
	lastReloadTime prometheus.Gauge
}

func newProcessMetrics(reg prometheus.Registerer, version string, now time.Time) *processMetrics {
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "promfwd_build_info",
		Help: "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{
			"version": version, "goversion": runtime.Version(), "revision": vcsRevision(),
		},
	})
	build.Set(1)
	m := &processMetrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promfwd_config_reloads_total",
			Help: "Config reloads (SIGHUP) by result: success, or failure (the file was rejected or could not be applied; the previous config keeps running).",
		}, []string{"result"}),
		lastReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "promfwd_config_last_reload_successful",
			Help: "1 if the last config load or reload succeeded, 0 if it failed.",
		}),
		lastReloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "promfwd_config_last_reload_success_timestamp_seconds",
			Help: "Unix time the running config was loaded (at start, then at each successful reload).",
		}),
	}
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	m.lastReloadOK.Set(1)
	m.lastReloadTime.Set(float64(now.UnixNano()) / 1e9)
	reg.MustRegister(build, m.reloads, m.lastReloadOK, m.lastReloadTime)
	return m
}

// reloaded records the result of one reload.
func (m *processMetrics) reloaded(ok bool, now time.Time) {
	if !ok {
		m.reloads.WithLabelValues("failure").Inc()
		m.lastReloadOK.Set(0)
		return
	}
	m.reloads.WithLabelValues("success").Inc()
	m.lastReloadOK.Set(1)
	m.lastReloadTime.Set(float64(now.UnixNano()) / 1e9)
}

// vcsRevision is the commit the binary was built from, or "unknown".
func vcsRevision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			return s.Value
		}
	}
	return "unknown"
}

// ReloadRejected records a reload whose config file did not load (the
// caller keeps the running config): promfwd_config_reloads_total{result=
// "failure"} and promfwd_config_last_reload_successful 0.
func (f *Forwarder) ReloadRejected() {
	f.pm.reloaded(false, f.clock.Now())
}
