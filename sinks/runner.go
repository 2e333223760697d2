package sinks

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks/internal/fifo"
)

// RunnerConfig bounds one sink's delivery loop. Zero fields take the values
// of DefaultRunnerConfig.
type RunnerConfig struct {
	// MaxBatchSamples: encode when this many samples are pending.
	MaxBatchSamples int
	// FlushInterval: encode when the oldest pending sample waited this long.
	FlushInterval time.Duration
	// MaxPendingSamples bounds submitted-but-not-encoded samples; overflow
	// drops the oldest submitted batches (reason="intake_full").
	MaxPendingSamples int
	// MaxQueueBytes bounds encoded requests waiting to be sent; overflow
	// drops the oldest whole requests (reason="queue_full").
	MaxQueueBytes int64
	// Concurrency is the number of parallel senders. Request r goes to
	// sender r.Shard % Concurrency; the requests of one sender are sent in
	// order. A sink that is a Laner adjusts it (see Lanes).
	Concurrency int
	// RetryWaitMin / RetryWaitMax bound the runner's own backoff, used when
	// Send returns a retryable error (which the retrying HTTP client only
	// does for failures it does not retry itself).
	RetryWaitMin, RetryWaitMax time.Duration
	// Clock drives flushes, backoff and ages; nil means the real clock.
	Clock clockwork.Clock
	// Queue replaces the memory queue (a disk-backed queue, for instance);
	// it must have Concurrency lanes. Nil means
	// NewMemoryQueue(MaxQueueBytes, Concurrency, Clock.Now). A
	// DurableQueue keeps what Stop leaves behind instead of returning it.
	Queue Queue
	// Checkpoint, if set, is called by the batcher goroutine (so no Encode
	// runs meanwhile) after encode cycles that queued requests, at most
	// once per CheckpointEvery, and once at Stop after the last encode.
	// flush encodes everything submitted so far and queues it; the hook
	// calls it once it has stopped new submissions, then saves the state
	// that matches the queue (see package forwarder/state).
	Checkpoint      func(flush func())
	CheckpointEvery time.Duration
	// OnDrop, if set, is called (from a sender goroutine) whenever the
	// destination rejects a whole request. The forwarder resets the sink's
	// dedupe there, so a value recorded as sent whose request was dropped
	// is sent again. Queue evictions (queue_full) do not call it: newer
	// requests behind them hold the series' later values, and re-sending
	// everything during an outage would only evict more.
	OnDrop func()
	// StallAfter is how long data may wait without a successful delivery
	// before the sink reports not delivering (promfwd_sink_delivering 0,
	// /readyz). Default DefaultStallAfter.
	StallAfter time.Duration
}

// DefaultStallAfter is RunnerConfig.StallAfter's default.
const DefaultStallAfter = 5 * time.Minute

// DefaultRunnerConfig returns the defaults documented on RunnerConfig.
func DefaultRunnerConfig() RunnerConfig {
	return RunnerConfig{
		MaxBatchSamples:   10_000,
		FlushInterval:     time.Second,
		MaxPendingSamples: 1_000_000,
		MaxQueueBytes:     64 << 20,
		Concurrency:       1,
		RetryWaitMin:      time.Second,
		RetryWaitMax:      10 * time.Second,
		StallAfter:        DefaultStallAfter,
	}
}

func (c RunnerConfig) withDefaults() RunnerConfig {
	d := DefaultRunnerConfig()
	if c.MaxBatchSamples <= 0 {
		c.MaxBatchSamples = d.MaxBatchSamples
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = d.FlushInterval
	}
	if c.MaxPendingSamples <= 0 {
		c.MaxPendingSamples = d.MaxPendingSamples
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = d.MaxQueueBytes
	}
	if c.Concurrency <= 0 {
		c.Concurrency = d.Concurrency
	}
	if c.RetryWaitMin <= 0 {
		c.RetryWaitMin = d.RetryWaitMin
	}
	if c.RetryWaitMax < c.RetryWaitMin {
		c.RetryWaitMax = max(d.RetryWaitMax, c.RetryWaitMin)
	}
	if c.StallAfter <= 0 {
		c.StallAfter = d.StallAfter
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	return c
}

// RunnerStats is a snapshot of a Runner's backlog.
type RunnerStats struct {
	QueuedRequests   int           // encoded requests waiting in the queue
	QueuedBytes      int64         // their body bytes
	QueuedSamples    int           // the samples they carry
	InFlightRequests int           // requests being sent (or waiting to be retried)
	OldestQueuedAge  time.Duration // age of the oldest queued or in-flight request
	PendingSamples   int           // submitted, not yet encoded
	LastSuccess      time.Time     // when a request was last delivered; zero if never

	// Storage of the queue (QueueStats' Memory*/Disk* fields).
	MemoryRequests, DiskRequests int
	MemoryBytes, DiskBytes       int64
}

// Runner is one sink's delivery loop: Submit feeds an intake, one batcher
// goroutine encodes it into requests, a bounded queue holds them and
// Concurrency sender goroutines deliver them.
type Runner struct {
	sink   Sink
	cfg    RunnerConfig
	name   string
	log    *zap.Logger
	health *Health
	m      *Metrics
	c      sinkCounters
	clock  clockwork.Clock
	queue  Queue
	// durable is queue as a DurableQueue, nil for a memory queue.
	durable DurableQueue

	// Intake, guarded by mu.
	mu       sync.Mutex
	batches  fifo.FIFO[pendingBatch]
	pendingN int
	closed   bool // Stop began: Submit drops
	started  bool
	wake     chan struct{} // capacity 1
	// syncWant, when not nil, is closed once the batcher has made durable
	// everything submitted before it was taken (runner_sync.go).
	syncWant chan struct{}

	buf []scrape.Sample // batcher only: concatenation buffer
	// releases are batch references whose samples nothing pending reads
	// any more; the batcher releases them when it holds no chunk
	// (runner_batchref.go). Guarded by mu.
	releases []*scrape.BatchRef

	// Batcher only: requests were queued since the last checkpoint, and when
	// that checkpoint ran.
	dirty    bool
	lastCkpt time.Time

	stopping   chan struct{} // closed when Stop begins
	sendCtx    context.Context
	cancelSend context.CancelFunc
	cancelBg   context.CancelFunc
	wg         sync.WaitGroup
	stopOnce   sync.Once

	inflight    []atomic.Int64 // per lane: enqueue time (UnixNano) of the request in flight, 0 if none
	lastSuccess atomic.Int64   // UnixNano
	lastReject  atomic.Int64   // UnixNano of the last request refused whole
	createdAt   time.Time
	cond        condition // runner_status.go: last failure and rejection, for the status pages

	leftMu    sync.Mutex
	leftovers []Request // taken from senders that stopped holding one

	rejectLog, failLog, dropLog, encodeLog *logLimiter
}

type pendingBatch struct {
	samples []scrape.Sample
	at      time.Time
	ref     *scrape.BatchRef // released once its last samples are encoded (runner_batchref.go)
}

// NewRunner builds the delivery loop for s. set is the sink's Settings (its
// Name labels the metrics; its Health feeds promfwd_sink_healthy). m may be
// nil (metrics kept but not registered anywhere).
func NewRunner(s Sink, cfg RunnerConfig, set Settings, m *Metrics) *Runner {
	cfg = cfg.withDefaults()
	cfg.Concurrency = Lanes(s, cfg.Concurrency)
	if m == nil {
		m = NewMetrics(nil)
	}
	log := set.Logger
	if log == nil {
		log = zap.NewNop()
	}
	q := cfg.Queue
	if q == nil {
		q = NewMemoryQueue(cfg.MaxQueueBytes, cfg.Concurrency, cfg.Clock.Now)
	}
	r := &Runner{
		sink: s, cfg: cfg, name: set.Name, log: log, health: set.Health, m: m,
		c: m.counters(set.Name), clock: cfg.Clock, queue: q,
		wake:      make(chan struct{}, 1),
		stopping:  make(chan struct{}),
		inflight:  make([]atomic.Int64, cfg.Concurrency),
		createdAt: cfg.Clock.Now(),
	}
	r.durable, _ = q.(DurableQueue)
	for _, l := range []**logLimiter{&r.rejectLog, &r.failLog, &r.dropLog, &r.encodeLog} {
		*l = newLogLimiter(time.Minute, r.clock.Now)
	}
	m.attach(set.Name, set.Health, r)
	if cr, ok := q.(CorruptReporter); ok {
		cr.OnCorrupt(func(n int) { r.c.corrupt.Add(float64(n)) }) // the queue logs the details
	}
	return r
}

// Start launches the batcher and the senders, and the sink's own background
// work if it is a Starter. ctx bounds delivery: when it ends, in-flight sends
// are aborted and the senders exit as if Stop's deadline had passed. Stop
// must still be called; it collects what was not delivered. Start after
// Start or Stop does nothing.
func (r *Runner) Start(ctx context.Context) {
	r.mu.Lock()
	if r.started || r.closed {
		r.mu.Unlock()
		return
	}
	r.started = true
	r.mu.Unlock()

	r.sendCtx, r.cancelSend = context.WithCancel(ctx)
	var bg context.Context
	bg, r.cancelBg = context.WithCancel(ctx)
	if st, ok := r.sink.(Starter); ok {
		st.Start(bg)
	}
	r.wg.Add(1 + r.cfg.Concurrency)
	go r.batchLoop()
	for lane := range r.cfg.Concurrency {
		go r.sendLoop(lane)
	}
}

// Submit hands samples to the runner, which takes ownership of the slice.
// It never blocks: when MaxPendingSamples would be exceeded the oldest
// submitted batches are dropped (a batch larger than the bound on its own is
// dropped whole); after Stop everything is dropped with reason "shutdown".
func (r *Runner) Submit(samples []scrape.Sample) { r.SubmitBatch(samples, nil) }

// SubmitBatch is Submit for samples read from a pooled batch: the Runner
// takes over ref and releases it once the samples are encoded or dropped
// (runner_batchref.go).
func (r *Runner) SubmitBatch(samples []scrape.Sample, ref *scrape.BatchRef) {
	n := len(samples)
	if n == 0 {
		ref.Release()
		return
	}
	now := r.clock.Now()
	var dropped int
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		ref.Release()
		r.c.shutdn.Add(float64(n))
		return
	case n > r.cfg.MaxPendingSamples:
		dropped = n
		defer ref.Release() // never queued: no chunk can be reading it
	default:
		for r.pendingN+n > r.cfg.MaxPendingSamples {
			b := r.popBatchLocked()
			dropped += len(b.samples)
			r.releaseLaterLocked(b.ref) // the batcher may be encoding a chunk of it
		}
		r.batches.Push(pendingBatch{samples: samples, at: now, ref: ref})
		r.pendingN += n
	}
	signal := r.pendingN == n || r.pendingN >= r.cfg.MaxBatchSamples
	r.mu.Unlock()
	if dropped > 0 {
		r.c.intakeFull.Add(float64(dropped))
		r.logDrop(DropIntakeFull, dropped)
	}
	if signal {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

func (r *Runner) popBatchLocked() pendingBatch {
	b := r.batches.Pop()
	r.pendingN -= len(b.samples)
	return b
}

// Stop closes the intake, encodes what is pending and keeps sending the
// queue until it is empty or ctx ends (no new retries after that, and the
// in-flight sends are cancelled). It returns the requests not delivered,
// oldest first per sender, for the caller to persist or Discard (none with
// a DurableQueue: they stay stored there). All
// goroutines have exited when Stop returns. Stop does not Close the sink.
// Later calls return nil.
func (r *Runner) Stop(ctx context.Context) []Request {
	var out []Request
	r.stopOnce.Do(func() { out = r.stop(ctx) })
	return out
}

func (r *Runner) stop(ctx context.Context) []Request {
	r.mu.Lock()
	r.closed = true
	started := r.started
	r.mu.Unlock()
	close(r.stopping)
	if started {
		unwatch := context.AfterFunc(ctx, r.cancelSend)
		r.wg.Wait()
		unwatch()
		r.cancelSend()
		r.cancelBg()
	} else {
		r.closeIntake()
	}
	if n := r.rejectLog.flush(); n > 0 {
		r.log.Error("destination rejected requests (summary at stop)", zap.Int("suppressed", n))
	}
	if n := r.dropLog.flush(); n > 0 {
		r.log.Warn("dropped samples (summary at stop)", zap.Int("suppressed", n))
	}
	r.m.detach(r.name, r)
	if r.durable != nil {
		return nil // undelivered requests stay stored in the queue
	}
	r.leftMu.Lock()
	out := append(r.leftovers, r.queue.Drain()...)
	r.leftovers = nil
	r.leftMu.Unlock()
	return out
}

// Discard counts requests the caller gives up on (leftovers it cannot
// persist) as dropped with reason "shutdown".
func (r *Runner) Discard(reqs []Request) {
	n := 0
	for _, q := range reqs {
		n += q.Samples
	}
	if n > 0 {
		r.c.shutdn.Add(float64(n))
		r.log.Warn("discarding undelivered samples at shutdown", zap.Int("requests", len(reqs)), zap.Int("samples", n))
	}
}

// Stats returns a snapshot of the backlog. It is safe to call at any time.
func (r *Runner) Stats() RunnerStats {
	qs := r.queue.Stats()
	st := RunnerStats{
		QueuedRequests: qs.Requests, QueuedBytes: qs.Bytes, QueuedSamples: qs.Samples,
		MemoryRequests: qs.MemoryRequests, MemoryBytes: qs.MemoryBytes,
		DiskRequests: qs.DiskRequests, DiskBytes: qs.DiskBytes,
	}
	oldest := qs.Oldest
	for i := range r.inflight {
		if at := r.inflight[i].Load(); at != 0 {
			st.InFlightRequests++
			if t := time.Unix(0, at); oldest.IsZero() || t.Before(oldest) {
				oldest = t
			}
		}
	}
	if !oldest.IsZero() {
		st.OldestQueuedAge = max(r.clock.Since(oldest), 0)
	}
	if ls := r.lastSuccess.Load(); ls != 0 {
		st.LastSuccess = time.Unix(0, ls)
	}
	r.mu.Lock()
	st.PendingSamples = r.pendingN
	r.mu.Unlock()
	return st
}

func (r *Runner) logDrop(reason string, samples int) {
	if ok, suppressed := r.dropLog.allow(); ok {
		r.log.Warn("dropping oldest samples: bound reached",
			zap.String("reason", reason), zap.Int("samples", samples), zap.Int("suppressed", suppressed))
	}
}

// Delivering reports whether the sink is getting data through: false once
// data has waited longer than StallAfter (or requests were refused) while
// nothing was delivered for StallAfter. An idle sink is delivering.
func (r *Runner) Delivering() bool {
	now := r.clock.Now()
	last := r.createdAt
	if ls := r.lastSuccess.Load(); ls != 0 {
		last = time.Unix(0, ls)
	}
	if now.Sub(last) <= r.cfg.StallAfter {
		return true
	}
	if rj := r.lastReject.Load(); rj != 0 && time.Unix(0, rj).After(last) {
		return false // everything sent since the last success was refused
	}
	return r.Stats().OldestQueuedAge <= r.cfg.StallAfter
}
