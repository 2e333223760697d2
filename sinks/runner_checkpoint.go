package sinks

import "time"

// checkpoint calls the Checkpoint hook when requests were queued since the
// last one and CheckpointEvery has passed (or, at Stop, whenever it is set).
// Batcher goroutine only.
func (r *Runner) checkpoint(final bool) {
	if r.cfg.Checkpoint == nil || (!final && (!r.dirty || r.clock.Since(r.lastCkpt) < r.cfg.CheckpointEvery)) {
		return
	}
	r.cfg.Checkpoint(func() { r.encodeDue(true) })
	r.dirty = false
	r.lastCkpt = r.clock.Now()
}

// nextWake is when the batcher must run next without being woken: the
// flush deadline of the oldest pending sample, or a due checkpoint.
func (r *Runner) nextWake() (time.Time, bool) {
	at, ok := r.oldestPending()
	if ok {
		at = at.Add(r.cfg.FlushInterval)
	}
	if r.cfg.Checkpoint != nil && r.dirty {
		due := r.lastCkpt.Add(r.cfg.CheckpointEvery)
		if !ok || due.Before(at) {
			at, ok = due, true
		}
	}
	return at, ok
}
