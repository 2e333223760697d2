package forwarder

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/datadog/ddtest"
)

// TestWriteRelabelPerSink: one scrape reaches two sinks with different
// label sets. The stdout sink gets every pod; the Datadog sink's
// write_relabel_configs drop the pod label, which merges the two pods'
// counters into one series. The first pod's series wins on every scrape,
// so Datadog's deltas are exactly pod a's (5, 25, 1: dedupe skips the
// unchanged 15 on the relabeled series) and no reset is invented from pod
// b's wildly different values; pod b's samples are counted as
// relabel_invalid for the Datadog sink only
// (promfwd_sink_dropped_samples_total), never summed in.
func TestWriteRelabelPerSink(t *testing.T) {
	t.Parallel()
	podA := []float64{10, 15, 15, 40, 41}
	podB := []float64{1000, 3, 2000, 4, 5000}
	tg := newE2ETarget(t, func(n int) string {
		return fmt.Sprintf("# TYPE jobs_total counter\njobs_total{pod=\"a\",queue=\"q\"} %g\njobs_total{pod=\"b\",queue=\"q\"} %g\n",
			e2eAt(podA, n), e2eAt(podB, n))
	})
	rcv := ddtest.NewServer(ddtest.Options{APIKey: ddKey})
	t.Cleanup(rcv.Close)
	svc := runFwd(t, fmt.Sprintf(`server: { listen: "" }
dedupe: { enabled: true, resend_after: 10m }
sources:
  - name: app
    url: %s
    interval: 1s
    timeout: 1s
sinks:
  - name: full
    type: stdout
    flush_interval: 100ms
  - name: dd
    type: datadog
    url: %s
    api_key: %s
    flush_interval: 100ms
    write_relabel_configs:
      - regex: pod
        action: labeldrop
`, tg.URL(), rcv.URL(), ddKey))
	pollFor(t, 60*time.Second, "6 scrapes and 3 deltas", func() bool {
		return tg.Scrapes() >= 6 && len(ddSeries(ddPoints(rcv), "jobs_total")) >= 3
	})
	if err := svc.stop(t); err != nil {
		t.Fatal(err)
	}

	// The stdout sink saw both pods, each series with its own values.
	pods := map[string][]float64{}
	for _, l := range svc.out["full"].lines(t) {
		if l.Name == "jobs_total" {
			v, _ := l.Value.(float64)
			pods[l.Labels["pod"]] = append(pods[l.Labels["pod"]], v)
		}
	}
	if !slices.Equal(pods["a"], []float64{10, 15, 40, 41}) || len(pods["b"]) < 5 || pods["b"][0] != 1000 {
		t.Errorf("stdout sink: pod a %v (want 10 15 40 41: dedupe), pod b %v", pods["a"], pods["b"])
	}
	// Datadog: one series without pod, pod a's deltas only.
	pts := ddSeries(ddPoints(rcv), "jobs_total")
	for _, p := range pts {
		if strings.Contains(p.tags, "pod:") {
			t.Fatalf("pod tag reached Datadog: %s", p.tags)
		}
	}
	if got := ddValues(pts); !slices.Equal(got[:min(3, len(got))], []float64{5, 25, 1}) || slices.ContainsFunc(got, func(v float64) bool { return v < 0 || v > 25 }) {
		t.Errorf("Datadog deltas %v, want 5 25 1 then zeros (pod a only; nothing from pod b)", got)
	}
	scrapes := float64(tg.Scrapes())
	invalid := gatherValue(t, svc.f.Registry(), "promfwd_sink_dropped_samples_total", map[string]string{"sink": "dd", "reason": "relabel_invalid"})
	if invalid < scrapes-1 || invalid > scrapes {
		t.Errorf("relabel_invalid for dd = %v, want one per scrape (%v scrapes)", invalid, scrapes)
	}
	if v := gatherValue(t, svc.f.Registry(), "promfwd_sink_dropped_samples_total", map[string]string{"sink": "full", "reason": "relabel_invalid"}); v != 0 {
		t.Errorf("relabel_invalid for full = %v, want 0", v)
	}
	// The per-target series went to both, through the write relabeling.
	if up := ddSeries(ddPoints(rcv), "up", "job:app"); len(up) == 0 || up[0].value != 1 {
		t.Errorf("up at Datadog: %v", up)
	}
	t.Logf("%v scrapes; Datadog jobs_total deltas %v; %v merged samples counted", scrapes, ddValues(pts), invalid)
}
