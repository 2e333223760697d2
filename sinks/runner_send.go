package sinks

import (
	"errors"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/scrape"
)

// batchLoop encodes pending samples when a full batch is waiting or the
// oldest pending sample has waited FlushInterval; at Stop it encodes the
// rest and closes the queue.
func (r *Runner) batchLoop() {
	defer r.wg.Done()
	for {
		r.encodeDue(false)
		r.checkpointOrSync() // runner_sync.go
		var (
			timer  clockwork.Timer
			timerC <-chan time.Time
		)
		if at, ok := r.nextWake(); ok {
			timer = r.clock.NewTimer(at.Sub(r.clock.Now()))
			timerC = timer.Chan()
		}
		select {
		case <-r.wake:
		case <-timerC:
		case <-r.stopping:
		}
		if timer != nil {
			timer.Stop()
		}
		select {
		case <-r.stopping:
			r.closeIntake()
			return
		default:
		}
	}
}

// closeIntake encodes everything pending, runs the final checkpoint and
// closes the queue: the batcher's last act (Stop's, if it never started).
func (r *Runner) closeIntake() {
	r.encodeDue(true)
	r.checkpoint(true)
	r.queue.Close()
	r.releaseSync() // runner_sync.go: the final checkpoint covered them
}

func (r *Runner) oldestPending() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pendingN == 0 {
		return time.Time{}, false
	}
	return r.batches.Front().at, true
}

// encodeDue encodes full batches, and everything pending when force is set
// or the oldest pending sample is due.
func (r *Runner) encodeDue(force bool) {
	now := r.clock.Now()
	r.mu.Lock()
	due := force || (r.pendingN > 0 && !now.Before(r.batches.Front().at.Add(r.cfg.FlushInterval)))
	for r.pendingN >= r.cfg.MaxBatchSamples || (due && r.pendingN > 0) {
		chunk, copied := r.takeLocked()
		r.mu.Unlock()
		r.encode(chunk)
		if copied {
			clear(chunk) // drop references to label strings until the next batch
		}
		r.releaseEncoded() // runner_batchref.go
		r.mu.Lock()
	}
	r.mu.Unlock()
	r.releaseEncoded() // batches evicted while idle
}

// takeLocked removes up to MaxBatchSamples samples from the intake, cutting
// only at group boundaries (scrape.GroupEnd). A head batch that fills a
// chunk on its own is passed through without copying; smaller ones are
// concatenated into the reusable buffer (copied reports which).
func (r *Runner) takeLocked() (chunk []scrape.Sample, copied bool) {
	limit := r.cfg.MaxBatchSamples
	first := r.batches.Front()
	if len(first.samples) >= limit || r.batches.Len() == 1 {
		cut := groupCut(first.samples, limit)
		if cut == 0 { // one group larger than a batch: send it whole
			cut = scrape.GroupEnd(first.samples, 0)
		}
		chunk = first.samples[:cut:cut]
		r.consumeHeadLocked(cut)
		return chunk, false
	}
	buf := r.buf[:0]
	for r.batches.Len() > 0 && len(buf) < limit {
		b := r.batches.Front().samples
		cut := groupCut(b, limit-len(buf))
		if cut == 0 {
			break // its first group does not fit: it starts the next chunk
		}
		buf = append(buf, b[:cut]...)
		r.consumeHeadLocked(cut)
	}
	r.buf = buf
	return buf, true
}

// consumeHeadLocked removes the first n samples of the head batch.
func (r *Runner) consumeHeadLocked(n int) {
	b := r.batches.Front()
	if n == len(b.samples) {
		r.releaseLaterLocked(r.popBatchLocked().ref) // once this chunk is encoded
		return
	}
	b.samples = b.samples[n:]
	r.pendingN -= n
}

// groupCut returns the largest group boundary in s that is at most limit,
// or 0 when the first group alone is longer than limit.
func groupCut(s []scrape.Sample, limit int) int {
	if len(s) <= limit {
		return len(s)
	}
	i := 0
	for i < len(s) {
		j := scrape.GroupEnd(s, i)
		if j > limit {
			break
		}
		i = j
	}
	return i
}

// encode turns one chunk into requests and queues them.
func (r *Runner) encode(samples []scrape.Sample) {
	r.dirty = true // the sink's encoding state may have moved: checkpoint it
	enc, err := r.sink.Encode(samples)
	if err != nil {
		// Nothing of the batch is queued: count it all as unrepresentable.
		r.c.encodeErrors.Inc()
		r.c.unrepr.Add(float64(len(samples)))
		if ok, suppressed := r.encodeLog.allow(); ok {
			r.log.Error("encode failed, batch dropped", zap.Int("samples", len(samples)),
				zap.Error(err), zap.Int("suppressed", suppressed))
		}
		return
	}
	if enc.Dropped > 0 {
		r.c.unrepr.Add(float64(enc.Dropped))
	}
	if enc.NameCollisions > 0 {
		r.c.nameCollision.Add(float64(enc.NameCollisions))
	}
	if enc.TagCollisions > 0 {
		r.c.tagCollision.Add(float64(enc.TagCollisions))
	}
	for _, req := range enc.Requests {
		lane := int(req.Shard % uint32(r.cfg.Concurrency))
		evicted := r.queue.Push(req, lane)
		if len(evicted) == 0 {
			continue
		}
		n := 0
		for _, e := range evicted {
			n += e.Samples
			r.recycle(e) // runner_recycle.go
		}
		r.c.queueFull.Add(float64(n))
		r.logDrop(DropQueueFull, n)
	}
}

// sendLoop delivers one lane's requests in order until the queue is closed
// and empty, the send context ends, or a request fails while stopping.
func (r *Runner) sendLoop(lane int) {
	defer r.wg.Done()
	for {
		req, at, err := r.queue.Pop(r.sendCtx, lane)
		if err != nil {
			return
		}
		r.inflight[lane].Store(max(at.UnixNano(), 1))
		undelivered := r.deliver(req)
		r.inflight[lane].Store(0)
		if r.durable != nil {
			if undelivered {
				return // stays stored, replayed after a restart
			}
			r.durable.Done(lane)
			continue
		}
		if undelivered {
			r.leftMu.Lock()
			r.leftovers = append(r.leftovers, req)
			r.leftMu.Unlock()
			return
		}
		r.recycle(req) // delivered or rejected: runner_recycle.go
	}
}

// deliver sends req until it is delivered or rejected (false), or the runner
// stops with it undelivered (true).
func (r *Runner) deliver(req Request) (undelivered bool) {
	for attempt := 0; ; attempt++ {
		err := r.sink.Send(r.sendCtx, req)
		if err == nil {
			r.c.success.Inc()
			r.c.sent.Add(float64(req.Samples))
			r.lastSuccess.Store(r.clock.Now().UnixNano())
			r.cond.delivered()
			return false
		}
		if pes, ok := Permanents(err); ok && len(pes) > 0 {
			r.rejected(req, pes, err)
			return false
		}
		r.c.failed.Inc()
		select {
		case <-r.stopping:
			return true
		case <-r.sendCtx.Done():
			return true
		default:
		}
		r.c.retries.Inc() // the Send failed outside the HTTP client's retries (a token file, an ack)
		wait := r.backoff(attempt, err)
		r.cond.failed(r.clock.Now(), err, wait)
		if ok, suppressed := r.failLog.allow(); ok {
			r.log.Warn("send failed, will retry", zap.Error(err), zap.Duration("backoff", wait),
				zap.Int("suppressed", suppressed))
		}
		t := r.clock.NewTimer(wait)
		select {
		case <-t.Chan():
		case <-r.stopping:
			t.Stop()
			return true
		case <-r.sendCtx.Done():
			t.Stop()
			return true
		}
	}
}

// backoff is Backoff between RetryWaitMin and RetryWaitMax, raised to a
// *ThrottledError's delay (capped at MaxServerDelay).
func (r *Runner) backoff(attempt int, err error) time.Duration {
	d := Backoff(r.cfg.RetryWaitMin, r.cfg.RetryWaitMax, attempt, nil)
	var te *ThrottledError
	if errors.As(err, &te) && te.Delay > d {
		d = min(te.Delay, MaxServerDelay)
	}
	return d
}

// rejected counts a request the destination refused for good, wholly or in
// part (a sink that split it returns one *PermanentError per refused part):
// refused samples under their drop reason, the rest as sent.
func (r *Runner) rejected(req Request, pes []*PermanentError, err error) {
	r.c.permanent.Inc()
	left, whole := req.Samples, false
	for _, pe := range pes {
		n := pe.Samples
		if n <= 0 || n > left {
			n, whole = left, true
		}
		left -= n
		if pe.DropReason == "" || pe.DropReason == DropRejected {
			r.c.rejected.Add(float64(n))
		} else {
			r.m.dropped.WithLabelValues(r.name, pe.DropReason).Add(float64(n))
		}
	}
	now := r.clock.Now().UnixNano()
	if left > 0 {
		r.c.sent.Add(float64(left))
		r.lastSuccess.Store(now)
	} else {
		r.lastReject.Store(now)
	}
	r.cond.rejected(r.clock.Now(), err)
	if whole && req.Samples > 0 && r.cfg.OnDrop != nil { // a metadata-only request carries no value
		r.cfg.OnDrop()
	}
	if ok, suppressed := r.rejectLog.allow(); ok {
		r.log.Error("destination rejected request, dropped", zap.Int("samples", req.Samples-left),
			zap.Int("delivered", left), zap.Error(err), zap.Int("suppressed", suppressed))
	}
}
