package sinks

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestMetricsSettingsWiring(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	core, logs := observer.New(zapcore.InfoLevel)
	set := m.Settings("hec_main", zap.New(core), "promfwd/1.2.3")
	if set.Name != "hec_main" || set.UserAgent != "promfwd/1.2.3" || set.Health == nil || set.OnRetry == nil {
		t.Fatalf("Settings = %+v", set)
	}
	set.Logger.Info("hello")
	if got := logs.All()[0].ContextMap()["sink"]; got != "hec_main" {
		t.Fatalf("logger not scoped with sink: %v", got)
	}
	set.OnRetry()
	set.OnRetry()
	if v := metricValue(t, reg, "promfwd_sink_retries_total", "sink", "hec_main"); v != 2 {
		t.Fatalf("retries_total = %v, want 2", v)
	}
	tests := []struct {
		status int
		want   float64
	}{{200, 1}, {401, 0}, {500, 0}, {204, 1}, {403, 0}}
	for _, tc := range tests {
		set.Health.Observe(&http.Response{StatusCode: tc.status}, nil)
		if v := metricValue(t, reg, "promfwd_sink_healthy", "sink", "hec_main"); v != tc.want {
			t.Fatalf("after %d: healthy = %v, want %v", tc.status, v, tc.want)
		}
	}
}

func TestMetricsGaugesFollowRunner(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	clock := clockwork.NewFakeClockAt(time.Unix(1_700_000_000, 0))
	q := NewMemoryQueue(1<<20, 1, clock.Now)
	// Not started, so the queue and intake hold still while the gauges are read.
	r := NewRunner(newFakeSink(), RunnerConfig{Clock: clock, Queue: q}, m.Settings("s", nil, "ua"), m)
	q.Push(Request{Body: []byte("0123456789"), Samples: 3}, 0)
	r.Submit(gauges("c", 4))
	clock.Advance(90 * time.Second)
	want := map[string]float64{
		"promfwd_sink_queue_requests":                 1,
		"promfwd_sink_queue_bytes":                    10,
		"promfwd_sink_pending_samples":                4,
		"promfwd_sink_oldest_queued_age_seconds":      90,
		"promfwd_sink_healthy":                        1,
		"promfwd_sink_last_success_timestamp_seconds": 0,
	}
	for name, v := range want {
		labels := []string{"sink", "s"}
		if name == "promfwd_sink_queue_bytes" {
			labels = append(labels, "medium", "memory")
		}
		if got := metricValue(t, reg, name, labels...); got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	// One gauge for queued bytes: the old promfwd_sink_queue_stored_bytes
	// duplicated it.
	if got := metricValue(t, reg, "promfwd_sink_queue_bytes", "sink", "s", "medium", "disk"); got != 0 {
		t.Errorf("queue_bytes{medium=disk} = %v for a memory queue", got)
	}
	if mfs, _ := reg.Gather(); hasMetric(mfs, "promfwd_sink_queue_stored_bytes") {
		t.Error("promfwd_sink_queue_stored_bytes still exported next to promfwd_sink_queue_bytes")
	}
	if left := r.Stop(context.Background()); bodies(left) != "0123456789,c0,c1,c2,c3" {
		t.Fatalf("leftovers %q", bodies(left))
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "promfwd_sink_queue_requests" {
			t.Fatalf("gauges still exported after Stop: %v", mf)
		}
	}
}

func TestMetricsLastSuccess(t *testing.T) {
	fs := newFakeSink()
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 1})
	r.Submit(gauges("a", 1))
	waitDelivered(t, fs, 1)
	r.Stop(context.Background())
	if st := r.Stats(); !st.LastSuccess.Equal(time.Unix(1_700_000_000, 0)) {
		t.Fatalf("LastSuccess = %v", st.LastSuccess)
	}
}

func TestMetricsExposeEveryName(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	r := NewRunner(newFakeSink(), RunnerConfig{}, m.Settings("x", nil, ""), m)
	defer r.Stop(context.Background())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	for _, name := range []string{
		"promfwd_sink_samples_sent_total", "promfwd_sink_requests_total", "promfwd_sink_retries_total",
		"promfwd_sink_dropped_samples_total", "promfwd_sink_queue_requests", "promfwd_sink_queue_bytes",
		"promfwd_sink_pending_samples", "promfwd_sink_oldest_queued_age_seconds",
		"promfwd_sink_last_success_timestamp_seconds", "promfwd_sink_healthy", "promfwd_sink_encode_errors_total", "promfwd_sink_sent_bytes_total",
	} {
		if !got[name] {
			t.Errorf("%s not exported before any traffic", name)
		}
	}
}

func hasMetric(mfs []*dto.MetricFamily, name string) bool {
	for _, mf := range mfs {
		if mf.GetName() == name {
			return true
		}
	}
	return false
}
