package forwarder

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStatusDedupeRatioAggregatingSink: an aggregating sink's dedupe is
// offered the aggregates, not the raw input, so its hit ratio on the
// status pages is skipped aggregates over offered aggregates. Twenty
// constant series fold into one constant sum: after the first window
// every sum repeats and dedupe skips it, so the ratio approaches 1. (The
// old count offered the twenty raw samples per scrape and skipped at most
// one aggregate per window: a ratio below 0.05.)
func TestStatusDedupeRatioAggregatingSink(t *testing.T) {
	t.Parallel()
	var body strings.Builder
	body.WriteString("# TYPE x gauge\n")
	for i := range 20 {
		fmt.Fprintf(&body, "x{series=\"%d\"} 1\n", i)
	}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, body.String())
	}))
	t.Cleanup(target.Close)
	r := runFwd(t, fmt.Sprintf(`
server:
  listen: ""
dedupe:
  enabled: true
  resend_after: 1h
sources:
  - name: a
    url: %s/metrics
    interval: 1s
    target_series: false
sinks:
  - name: out
    type: stdout
    aggregate:
      - match: x
        interval: 1s
        without: [series]
        outputs: [sum]
`, target.URL))
	count := func() (offered, skipped int64) {
		v, ok := r.f.feed.dedupe.Load("out")
		if !ok {
			return 0, 0
		}
		c := v.(*dedupeCount)
		return c.offered.Load(), c.skipped.Load()
	}
	awaitCond(t, "three aggregate windows skipped as unchanged", func() bool {
		_, skipped := count()
		return skipped >= 3
	})
	offered, skipped := count()
	// Every window offers one sum (a window may close between the two
	// loads above); all but the first are unchanged.
	if offered > skipped+2 {
		t.Fatalf("offered %d, skipped %d: the offered count is not the aggregates", offered, skipped)
	}
}
