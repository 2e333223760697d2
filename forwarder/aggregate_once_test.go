package forwarder

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOnceShowsAggregates: `promfwd once -sink NAME` shows the aggregated
// series of an aggregating sink (as if the window ended now), explains what
// one scrape can show, and leaves the unmatched series as they are.
func TestOnceShowsAggregates(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "# TYPE runs gauge\nruns{ws=\"a\"} 2\nruns{ws=\"b\"} 5\n# TYPE other gauge\nother 1\n")
	}))
	t.Cleanup(target.Close)
	cfg, _ := loadRunConfig(t, fmt.Sprintf(`
server:
  listen: ""
sources:
  - name: a
    url: %s/metrics
    target_series: false
sinks:
  - name: console
    type: stdout
    aggregate:
      - match: runs
        interval: 1m
        without: [ws, instance]
        outputs: [sum, max, total]
`, target.URL))
	f, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := f.Once(context.Background(), &out, "console"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"# sink console: 1 aggregation rule(s): 3 samples in, 1 passed through, 3 aggregated series shown as if their window ended now.",
		"total, increase and rate_sum show 0 here",
		`"name":"runs:1m_without_instance_ws_sum_samples","labels":{"job":"a"},"value":7,"kind":"gauge"`,
		`"name":"runs:1m_without_instance_ws_max","labels":{"job":"a"},"value":5,"kind":"gauge"`,
		`"name":"runs:1m_without_instance_ws_total","labels":{"job":"a"},"value":0,"kind":"counter"`,
		`"name":"other"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("once output lacks %q:\n%s", want, got)
		}
	}
	// once shows the scrape stage first; what the sink gets follows its
	// "# sink" line.
	_, sinkPart, _ := strings.Cut(got, "# sink console")
	if strings.Contains(sinkPart, `"name":"runs",`) {
		t.Errorf("raw matched series shown for the sink although keep_input is false:\n%s", got)
	}
}
