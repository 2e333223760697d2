package forwarder

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// slowWriter is a destination that is stuck until released, then slow.
type slowWriter struct {
	*gatedWriter
	delay time.Duration
}

func (s slowWriter) Write(p []byte) (int, error) {
	<-s.gate
	time.Sleep(s.delay)
	return s.lineBuffer.Write(p)
}

// TestShutdownFlushes stops the service (what SIGTERM/SIGINT do in main)
// while a slow sink holds a backlog of several scrapes: Run must deliver
// all of it within shutdown_timeout before it returns, and drop nothing.
func TestShutdownFlushes(t *testing.T) {
	t.Parallel()
	target := newE2ETarget(t, func(n int) string {
		var b strings.Builder
		b.WriteString("# TYPE flush_value gauge\n")
		for i := range 40 {
			fmt.Fprintf(&b, "flush_value{i=\"%d\"} %d\n", i, n)
		}
		return b.String()
	})
	cfg, out := loadRunConfig(t, fmt.Sprintf(`
shutdown_timeout: 20s
server:
  listen: ""
dedupe:
  enabled: false
sources:
  - name: flush
    url: %s/metrics
    target_series: false
    interval: 1s
sinks:
  - name: slow
    type: stdout
    flush_interval: 50ms
    max_batch_samples: 10
`, target.srv.URL))
	w := slowWriter{gatedWriter: newGatedWriter(), delay: 20 * time.Millisecond}
	setWriter(t, cfg, "slow", w)
	r := runConfig(t, cfg, out)
	t.Cleanup(w.open)
	reg := r.f.Registry()

	r.f.mu.Lock()
	runner := r.f.sinks["slow"].runner
	r.f.mu.Unlock()
	awaitCond(t, "a backlog of 3 scrapes in the slow sink", func() bool {
		st := runner.Stats()
		return st.QueuedSamples+st.PendingSamples >= 3*40-10
	})

	// Stop, and only then let the destination move: everything queued
	// must still go out.
	r.cancel()
	w.open()
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	scraped := gatherValue(t, reg, "promfwd_source_samples_scraped_total", map[string]string{"source": "flush"})
	sent := gatherValue(t, reg, "promfwd_sink_samples_sent_total", map[string]string{"sink": "slow"})
	dropped := gatherValue(t, reg, "promfwd_sink_dropped_samples_total", map[string]string{"sink": "slow", "reason": "shutdown"})
	got := len(w.lines(t))
	if scraped < 3*40 || float64(got) != scraped || sent != scraped || dropped != 0 {
		t.Errorf("scraped %v samples, printed %d, sent %v, dropped at shutdown %v: want all scraped samples delivered",
			scraped, got, sent, dropped)
	}
	// Whole scrapes, in order per series.
	last := map[string]float64{}
	for _, l := range w.lines(t) {
		v := l.Value.(float64)
		if v < last[l.Labels["i"]] {
			t.Fatalf("series %s went back from %v to %v", l.Labels["i"], last[l.Labels["i"]], v)
		}
		last[l.Labels["i"]] = v
	}
}
