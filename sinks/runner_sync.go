package sinks

// Sync is how a scrape becomes durable before its job ends (issue 21.6):
// with a DurableQueue, samples waiting in the intake for FlushInterval are
// only in memory, and a SIGKILL lost up to FlushInterval of scrapes. The
// batcher answers a sync request by encoding everything pending at once
// and running the Checkpoint hook, so the requests are in the queue files
// and the state that describes them is saved. Requests made while one is
// being served share the next round, so many sources scraping together
// cost one checkpoint per round, not one each.

// RequestSync asks the batcher to make durable everything submitted so far:
// encoded, pushed to the queue and, with a Checkpoint hook, checkpointed.
// The returned channel is closed when that is done, or when Stop has
// encoded and checkpointed the rest. Before Start it is closed at once (Stop
// will encode what is pending).
func (r *Runner) RequestSync() <-chan struct{} {
	r.mu.Lock()
	if !r.started || r.closed {
		r.mu.Unlock()
		done := make(chan struct{})
		close(done)
		return done
	}
	if r.syncWant == nil {
		r.syncWant = make(chan struct{})
	}
	ch := r.syncWant
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return ch
}

// checkpointOrSync serves a pending sync request (encode everything, then
// checkpoint unconditionally), or else runs the periodic checkpoint.
// Batcher goroutine only.
func (r *Runner) checkpointOrSync() {
	r.mu.Lock()
	ch := r.syncWant
	r.syncWant = nil
	pending := r.pendingN
	r.mu.Unlock()
	if ch == nil {
		r.checkpoint(false)
		return
	}
	if pending == 0 && !r.dirty {
		close(ch) // the last checkpoint already covers everything submitted
		return
	}
	if r.cfg.Checkpoint != nil {
		r.checkpoint(true) // its flush encodes everything pending
	} else {
		r.encodeDue(true)
	}
	close(ch)
}

// releaseSync closes a sync request left at Stop, after the final encode
// and checkpoint. New requests after Stop are answered at once.
func (r *Runner) releaseSync() {
	r.mu.Lock()
	ch := r.syncWant
	r.syncWant = nil
	r.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}
