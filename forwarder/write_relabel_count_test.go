package forwarder

import (
	"fmt"
	"strings"
	"testing"
)

// TestWriteRelabelCountsAndGoodbye: what a sink's write_relabel_configs
// drop as configured is counted per source and sink
// (promfwd_sink_samples_filtered_total), and the stale markers of a source
// a reload removes go through the same delivery path as a scrape's
// samples: a marker the sink's rules merge into another series is counted
// relabel_invalid like the scrapes' samples were.
func TestWriteRelabelCountsAndGoodbye(t *testing.T) {
	t.Parallel()
	rw := newRWCapture(t)
	a := newBodyTarget(t, "# TYPE gone_metric gauge\ngone_metric{k=\"1\"} 1\ngone_metric{k=\"2\"} 2\nnoisy_metric 3\n")
	b := newBodyTarget(t, "# TYPE stay_metric gauge\nstay_metric 1\n")
	conf := func(sources ...string) string {
		return fmt.Sprintf(`
shutdown_timeout: 10s
server: {listen: ""}
sources:
%s
sinks:
  - name: rw
    type: remote_write
    url: %q
    flush_interval: 100ms
    write_relabel_configs:
      - {regex: k, action: labeldrop}
      - {source_labels: [__name__], regex: noisy_metric, action: drop}
`, strings.Join(sources, ""), rw.URL())
	}
	cfg, out := loadRunConfig(t, conf(staticSource("a", a.srv.URL, "1"), staticSource("b", b.srv.URL, "1")))
	r := runConfig(t, cfg, out)
	reg := r.f.Registry()
	filtered := func() float64 {
		return gatherValue(t, reg, "promfwd_sink_samples_filtered_total", map[string]string{"source": "a", "sink": "rw"})
	}
	invalid := func() float64 {
		return gatherValue(t, reg, "promfwd_sink_dropped_samples_total", map[string]string{"sink": "rw", "reason": "relabel_invalid"})
	}
	// Each scrape of a: noisy_metric filtered, gone_metric{k="2"} merged.
	awaitCond(t, "two scrapes of a counted", func() bool {
		n := float64(a.scrapesWith("1"))
		return n >= 2 && filtered() == n && invalid() == n
	})
	if n := rw.count(map[string]string{"__name__": "noisy_metric"}, false); n != 0 {
		t.Fatalf("%d noisy_metric samples reached the sink", n)
	}

	cfg2, _ := loadRunConfig(t, conf(staticSource("b", b.srv.URL, "1")))
	if err := r.f.Reload(cfg2); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	awaitCond(t, "the stale marker of gone_metric", func() bool {
		return rw.count(map[string]string{"__name__": "gone_metric", "job": "a"}, true) == 1
	})
	// Both markers reached the write relabeling: k="1"'s was sent, k="2"'s
	// merged into it and was counted, after the last scrape's.
	if got, want := invalid(), float64(a.scrapesWith("1"))+1; got != want {
		t.Errorf("relabel_invalid for rw = %v, want %v (one per scrape of a, one for its goodbye)", got, want)
	}
}
