package forwarder

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// TestSourceKeepsSeriesNotSamples: between scrapes a source keeps its last
// scrape's series (shared by staleness and scrape_series_added), not its
// samples, unless a Cache-Control max-age may make the next run reuse
// them; stale markers still name the series that went away.
func TestSourceKeepsSeriesNotSamples(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxAge   string
		keepLast bool
	}{
		{"no max-age", "", false},
		{"max-age", "max-age=30", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				i := n.Add(1)
				if tc.maxAge != "" {
					w.Header().Set("Cache-Control", tc.maxAge)
				}
				var b strings.Builder
				for s := range 5 {
					if i > 1 && s == 4 {
						continue // series 4 goes away after the first scrape
					}
					fmt.Fprintf(&b, "m{s=\"%d\"} %d\n", s, i)
				}
				_, _ = w.Write([]byte(b.String()))
			}))
			t.Cleanup(target.Close)
			cfg, _ := loadRunConfig(t, fmt.Sprintf(`
server:
  listen: ""
sources:
  - name: s
    url: %s/metrics
    interval: 10s
sinks:
  - name: out
    type: stdout
`, target.URL))
			clock := clockwork.NewFakeClockAt(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			f, err := New(cfg, Options{Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			src := f.sources["s"].src
			f.scrapeOnce(context.Background(), src)
			if got := src.last != nil; got != tc.keepLast {
				t.Fatalf("last samples kept: %v, want %v", got, tc.keepLast)
			}
			set := src.stale.Last()
			if set.Len() != 5 || src.pipe.prev != set {
				t.Fatalf("staleness holds %d series, scrape_series_added another set: %v", set.Len(), src.pipe.prev != set)
			}
			src.freshUntil = time.Time{} // scrape again, whatever max-age said
			clock.Advance(10 * time.Second)
			f.scrapeOnce(context.Background(), src)
			if n.Load() != 2 || src.stale.Last().Len() != 4 {
				t.Fatalf("%d requests, %d series tracked", n.Load(), src.stale.Last().Len())
			}
			// The stale marker for the series that went away was counted.
			if v := gatherValue(t, f.Registry(), "promfwd_source_stale_markers_total", map[string]string{"source": "s"}); v != 1 {
				t.Fatalf("stale markers: %v, want 1", v)
			}
		})
	}
}
