package forwarder

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestOnce scrapes every source once and shows the samples after each
// stage: the scrape, metric_relabel_configs, the per-target series, and per
// routed sink its write_relabel_configs and what it would receive after
// encoding, sending nothing: the HEC sink drops the NaN sample as
// unrepresentable, the stdout sink keeps it.
func TestOnce(t *testing.T) {
	t.Parallel()
	var hecHits atomic.Int64
	hec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hecHits.Add(1)
		_, _ = io.WriteString(w, `{"text":"Success","code":0}`)
	}))
	t.Cleanup(hec.Close)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "# TYPE o_gauge gauge\no_gauge 1\no_nan NaN\nfiltered_out 2\n")
	}))
	t.Cleanup(target.Close)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)

	cfg, _ := loadRunConfig(t, fmt.Sprintf(`
server:
  listen: ""
sources:
  - name: a
    url: %s/metrics
    metric_relabel_configs:
      - {source_labels: [__name__], action: drop, regex: filtered_.*}
  - name: b
    url: %s/metrics
    sinks: [console]
sinks:
  - name: console
    type: stdout
  - name: splunk
    type: hec
    url: %s
    token: once-5ecr3t
    write_relabel_configs:
      - {source_labels: [__name__], regex: scrape_.*, action: drop}
`, target.URL, down.URL, hec.URL))
	f, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = f.Once(context.Background(), &out, "")
	if err == nil || !strings.Contains(err.Error(), "b") {
		t.Errorf("Once error = %v, want one naming the failed source b", err)
	}
	got := out.String()
	for _, want := range []string{
		"# source a: scrape: 3 samples,",
		`"name":"filtered_out"`,
		"# source a: after metric_relabel_configs: 2 samples (1 dropped by the rules, 0 invalid or merged)",
		"# source a: per-target series",
		`"name":"scrape_samples_post_metric_relabeling"`,
		"# sink console (stdout): 7 samples (0 unchanged skipped, 0 unrepresentable) -> 1 request(s)",
		"# sink splunk: after write_relabel_configs: 3 samples (4 dropped by the rules, 0 invalid or merged)",
		"# sink splunk (hec): 3 samples (0 unchanged skipped, 1 unrepresentable) -> 1 request(s)",
		`"name":"o_gauge"`,
		`"name":"o_nan"`,
		"# source b: scrape failed:",
		"503",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "once-5ecr3t") {
		t.Error("output shows the HEC token")
	}
	if n := hecHits.Load(); n != 0 {
		t.Errorf("Once sent %d requests to HEC", n)
	}

	// Only one sink.
	f, err = New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	_ = f.Once(context.Background(), &out, "splunk")
	if s := out.String(); strings.Contains(s, "# sink console") || !strings.Contains(s, "# sink splunk") {
		t.Errorf("Once(only=splunk) output:\n%s", s)
	}
}
