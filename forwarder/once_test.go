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

// TestOnce scrapes every source once and shows, per routed sink, what it
// would receive after relabel and encoding, sending nothing: the HEC sink
// drops the NaN sample as unrepresentable, the stdout sink keeps it.
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
    metric_relabel:
      - {action: drop, regex: filtered_.*}
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
		"# source a: 2 samples (1 filtered by metric_relabel)",
		"# sink console (stdout): 2 samples (0 unchanged skipped, 0 unrepresentable) -> 1 request(s)",
		"# sink splunk (hec): 2 samples (0 unchanged skipped, 1 unrepresentable) -> 1 request(s)",
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
