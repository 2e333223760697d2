package sinks

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
)

// corruptQueue is a memory queue that, like a disk queue after recovery,
// has found damaged requests before the runner existed.
type corruptQueue struct {
	*MemoryQueue
	lost int
}

func (q *corruptQueue) OnCorrupt(h func(samples int)) { h(q.lost) }

// TestRunnerCountsCorruptSamples: samples a queue reports lost to damage on
// disk land in dropped_samples_total{reason="corrupt"}.
func TestRunnerCountsCorruptSamples(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	q := &corruptQueue{MemoryQueue: NewMemoryQueue(1<<20, 1, time.Now), lost: 37}
	NewRunner(newFakeSink(), RunnerConfig{Queue: q, Clock: clockwork.NewFakeClock()}, Settings{Name: "t"}, m)
	if got := counterOf(t, m.counters("t").corrupt); got != 37 {
		t.Fatalf("dropped{reason=corrupt} = %v, want 37", got)
	}
}
