package forwarder

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

// runBody is version n of the end-to-end exposition: counters, gauges (one
// with an exposition timestamp), a histogram and a summary whose values move
// with n, and metrics the metric_relabel_configs rules must filter out.
func runBody(n int) string {
	f := float64(n)
	return fmt.Sprintf(`# HELP test_requests_total Requests served.
# TYPE test_requests_total counter
test_requests_total{code="200"} %g
test_requests_total{code="500"} %g
# TYPE test_temperature_celsius gauge
test_temperature_celsius{room="a b"} %g
# TYPE test_fixed gauge
test_fixed 7 1700000000000
# TYPE test_latency_seconds histogram
test_latency_seconds_bucket{le="0.1"} %g
test_latency_seconds_bucket{le="1"} %g
test_latency_seconds_bucket{le="+Inf"} %g
test_latency_seconds_sum %g
test_latency_seconds_count %g
# TYPE test_rpc_seconds summary
test_rpc_seconds{quantile="0.5"} 0.25
test_rpc_seconds{quantile="0.99"} %g
test_rpc_seconds_sum %g
test_rpc_seconds_count %g
# TYPE test_seq gauge
test_seq %d
# TYPE other_metric gauge
other_metric 1
# TYPE test_drop_me_total counter
test_drop_me_total 5
`, 10*f, f, 20.5+f, f, 2*f, 3*f, 1.5*f, 3*f, f/100, f, 2*f, n)
}

// runExpected is what the stdout sink must print for version n scraped at
// tsMs, with the source's target labels.
func runExpected(n int, tsMs int64, job, instance string) []outLine {
	f := float64(n)
	base := map[string]string{"job": job, "instance": instance, "env": "ci"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	return []outLine{
		{tsMs, "test_requests_total", with("code", "200"), 10 * f, "counter"},
		{tsMs, "test_requests_total", with("code", "500"), f, "counter"},
		{tsMs, "test_temperature_celsius", with("room", "a b"), 20.5 + f, "gauge"},
		{1700000000000, "test_fixed", with(), 7.0, "gauge"},
		{tsMs, "test_latency_seconds_bucket", with("le", "0.1"), f, "histogram_bucket"},
		{tsMs, "test_latency_seconds_bucket", with("le", "1.0"), 2 * f, "histogram_bucket"},
		{tsMs, "test_latency_seconds_bucket", with("le", "+Inf"), 3 * f, "histogram_bucket"},
		{tsMs, "test_latency_seconds_sum", with(), 1.5 * f, "histogram_sum"},
		{tsMs, "test_latency_seconds_count", with(), 3 * f, "histogram_count"},
		{tsMs, "test_rpc_seconds", with("quantile", "0.5"), 0.25, "summary_quantile"},
		{tsMs, "test_rpc_seconds", with("quantile", "0.99"), f / 100, "summary_quantile"},
		{tsMs, "test_rpc_seconds_sum", with(), f, "summary_sum"},
		{tsMs, "test_rpc_seconds_count", with(), 2 * f, "summary_count"},
		{tsMs, "test_seq", with(), f, "gauge"},
	}
}

// TestRunEndToEnd runs the service against a real target: the stdout sink
// must print exactly the scraped samples (names, labels with job, instance
// and the added labels, values, kinds, timestamps), metric_relabel_configs must keep
// and drop, and the self-metrics server must account for it all.
func TestRunEndToEnd(t *testing.T) {
	t.Parallel()
	target := newE2ETarget(t, runBody)
	r := runFwd(t, fmt.Sprintf(`
shutdown_timeout: 10s
server:
  listen: 127.0.0.1:0
dedupe:
  enabled: false
sources:
  - name: e2e
    url: %s/metrics
    target_series: false
    interval: 1s
    timeout: 900ms
    labels:
      env: ci
    metric_relabel_configs:
      - source_labels: [__name__]
        action: keep
        regex: test_.*
      - source_labels: [__name__]
        action: drop
        regex: test_drop_.*
sinks:
  - name: out
    type: stdout
    flush_interval: 100ms
`, target.srv.URL))
	out := r.out["out"]
	base := r.selfURL(t)

	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d %q, want 200", path, resp.StatusCode, body)
		}
	}

	awaitCond(t, "three scrapes delivered", func() bool {
		n := 0
		for _, l := range out.lines(t) {
			if l.Name == "test_seq" {
				n++
			}
		}
		return n >= 3
	})
	// Self-metrics over HTTP while runningFwd.
	self := getSelfMetrics(t, base+"/metrics")
	for _, m := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"promfwd_source_scrapes_total", map[string]string{"source": "e2e"}, 3},
		{"promfwd_source_samples_scraped_total", map[string]string{"source": "e2e"}, 3 * 14},
		{"promfwd_source_samples_filtered_total", map[string]string{"source": "e2e"}, 3 * 2},
		{"promfwd_source_up", map[string]string{"source": "e2e"}, 1},
		{"promfwd_sink_samples_sent_total", map[string]string{"sink": "out"}, 3 * 14},
	} {
		v, ok := findSample(self, m.name, m.labels)
		if !ok || v < m.min {
			t.Errorf("/metrics: %s%v = %v (found %v), want >= %v", m.name, m.labels, v, ok, m.min)
		}
	}

	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}

	// Every delivered scrape, identified by test_seq, must be delivered
	// whole and exactly as served.
	got := out.lines(t)
	job, instance := "e2e", target.srv.Listener.Addr().String()
	var want []outLine
	for _, l := range got {
		if l.Name != "test_seq" {
			continue
		}
		n := int(l.Value.(float64))
		if n < 1 || n > target.Scrapes() {
			t.Fatalf("delivered version %d the target never served", n)
		}
		at := target.ScrapeTime(n)
		// The scrape is stamped before the request is sent.
		if ts := time.UnixMilli(l.TimeMs); ts.After(at) || at.Sub(ts) > 10*time.Second {
			t.Errorf("version %d stamped %s, served at %s", n, ts.Format(time.StampMilli), at.Format(time.StampMilli))
		}
		want = append(want, runExpected(n, l.TimeMs, job, instance)...)
	}
	if d := diffOutLines(got, want); d != "" {
		t.Errorf("stdout lines differ from the scraped samples:\n%s", d)
	}

	// Counters agree with what was printed.
	reg := r.f.Registry()
	scraped := gatherValue(t, reg, "promfwd_source_samples_scraped_total", map[string]string{"source": "e2e"})
	sent := gatherValue(t, reg, "promfwd_sink_samples_sent_total", map[string]string{"sink": "out"})
	filtered := gatherValue(t, reg, "promfwd_source_samples_filtered_total", map[string]string{"source": "e2e"})
	if int(scraped) != len(got) || int(sent) != len(got) {
		t.Errorf("scraped %v, sent %v, printed %d: want all equal", scraped, sent, len(got))
	}
	if filtered != 2*scraped/14 {
		t.Errorf("filtered %v, want 2 per scrape (%v scrapes)", filtered, scraped/14)
	}
}

// diffOutLines compares two multisets of lines; "" when equal.
func diffOutLines(got, want []outLine) string {
	count := map[string]int{}
	for _, l := range got {
		count[l.key()]++
	}
	for _, l := range want {
		count[l.key()]--
	}
	var d []string
	for k, n := range count {
		switch {
		case n > 0:
			d = append(d, fmt.Sprintf("unexpected (x%d): %s", n, k))
		case n < 0:
			d = append(d, fmt.Sprintf("missing (x%d):    %s", -n, k))
		}
	}
	sort.Strings(d)
	if len(d) > 40 {
		d = append(d[:40], fmt.Sprintf("... and %d more", len(d)-40))
	}
	return strings.Join(d, "\n")
}

// TestRunTinyStartOffset runs a source whose name hashes to a start offset
// of less than a microsecond: the first run is then due before the
// scheduler gets to check the start time, which must not fail Run (gocron,
// the scheduler before, rejected a start time in the past).
func TestRunTinyStartOffset(t *testing.T) {
	t.Parallel()
	name := ""
	for i := 0; i < 1<<26 && name == ""; i++ {
		if n := fmt.Sprintf("src-%d", i); startOffset(n, time.Second) < time.Microsecond {
			name = n
		}
	}
	if name == "" {
		t.Fatal("no source name with a tiny start offset found")
	}
	target := newE2ETarget(t, func(n int) string { return fmt.Sprintf("tiny %d\n", n) })
	cfg, out := loadRunConfig(t, fmt.Sprintf(`
server:
  listen: ""
sources:
  - name: %s
    url: %s/metrics
    target_series: false
    interval: 1s
sinks:
  - name: out
    type: stdout
    flush_interval: 100ms
`, name, target.srv.URL))
	f, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, nil) }()
	deadline := time.After(runWait)
	for len(out["out"].linesOf(t, name)) == 0 {
		select {
		case err := <-done:
			t.Fatalf("Run returned before the first scrape: %v", err)
		case <-deadline:
			t.Fatal("no scrape delivered")
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
