package sinks

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// condition is what the status pages show beyond the counters: the last
// Send failure the runner itself backs off from, and the last request the
// destination refused for good, with its message (redacted).
type condition struct {
	mu         sync.Mutex
	failAt     time.Time
	failErr    string
	backoff    time.Duration
	rejectAt   time.Time
	rejectMsg  string
	backingOff bool
}

func (c *condition) failed(now time.Time, err error, wait time.Duration) {
	c.mu.Lock()
	c.failAt, c.failErr, c.backoff, c.backingOff = now, RedactURLError(err).Error(), wait, true
	c.mu.Unlock()
}

func (c *condition) delivered() {
	c.mu.Lock()
	c.backingOff = false
	c.mu.Unlock()
}

func (c *condition) rejected(now time.Time, err error) {
	c.mu.Lock()
	c.rejectAt, c.rejectMsg = now, RedactURLError(err).Error()
	c.mu.Unlock()
}

// Condition is a Runner's latest delivery trouble.
type Condition struct {
	// Backoff is the runner's wait before retrying a failed Send; zero once
	// a request was delivered since.
	Backoff     time.Duration
	LastFailure time.Time
	FailError   string // the last Send failure the runner retried (redacted)
	LastReject  time.Time
	RejectMsg   string // the last permanent rejection, with the receiver's message (redacted)
}

// Condition returns the runner's latest delivery trouble.
func (r *Runner) Condition() Condition {
	c := &r.cond
	c.mu.Lock()
	defer c.mu.Unlock()
	out := Condition{LastFailure: c.failAt, FailError: c.failErr, LastReject: c.rejectAt, RejectMsg: c.rejectMsg}
	if c.backingOff {
		out.Backoff = c.backoff
	}
	return out
}

// Counts returns the samples sent and dropped (by reason) so far, read
// from the runner's counters.
func (r *Runner) Counts() (sent float64, dropped map[string]float64) {
	sent = counterValue(r.c.sent)
	dropped = map[string]float64{}
	for reason, c := range map[string]prometheus.Counter{
		DropIntakeFull: r.c.intakeFull, DropQueueFull: r.c.queueFull, DropRejected: r.c.rejected,
		DropUnrepresentable: r.c.unrepr, DropShutdown: r.c.shutdn, DropCorrupt: r.c.corrupt,
		DropNameCollision: r.c.nameCollision, DropTagCollision: r.c.tagCollision,
	} {
		dropped[reason] = counterValue(c)
	}
	return sent, dropped
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil || m.Counter == nil {
		return 0
	}
	return m.Counter.GetValue()
}
