package diskqueue

import "github.com/promfwd/promfwd/sinks"

// OnCorrupt implements sinks.CorruptReporter: h is called with the samples
// of stored requests lost to corruption (found at recovery, or unreadable
// when popped), so they are counted in
// promfwd_sink_dropped_samples_total{reason="corrupt"}.
func (q *Queue) OnCorrupt(h func(samples int)) {
	q.mu.Lock()
	q.onCorrupt = h
	q.mu.Unlock()
	q.reportCorrupt()
}

// reportCorrupt hands the samples lost so far to the handler, outside q.mu.
func (q *Queue) reportCorrupt() {
	q.mu.Lock()
	h, n := q.onCorrupt, q.lostSamples
	if h != nil {
		q.lostSamples = 0
	}
	q.mu.Unlock()
	if h != nil && n > 0 {
		h(n)
	}
}

var _ sinks.CorruptReporter = (*Queue)(nil)
