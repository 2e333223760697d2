package sinks

import "github.com/promfwd/promfwd/scrape"

// Batch references (scrape.BatchRef) let a parse reuse the array of an
// earlier scrape once every sink has encoded its samples. A pending batch
// holds its reference until the chunk holding its last samples has been
// encoded: a chunk may be a view of the batch (takeLocked passes a large
// head batch through without copying), so popping it is not enough. A
// batch dropped from the intake (full, or Submit after Stop) is released
// too, but never while the batcher may be encoding a view of it: only the
// batcher releases, between chunks. A reference the Runner never gets to
// release (a Runner dropped without Stop) only keeps its array from being
// reused.

// releaseLaterLocked queues ref for the batcher to release once it holds
// no chunk. Callers hold r.mu.
func (r *Runner) releaseLaterLocked(ref *scrape.BatchRef) {
	if ref != nil {
		r.releases = append(r.releases, ref)
	}
}

// releaseEncoded releases the queued references. Batcher only (or Stop's
// goroutine when the batcher never started), and only while it holds no
// chunk: everything encoded so far no longer reads their samples.
func (r *Runner) releaseEncoded() {
	r.mu.Lock()
	refs := r.releases
	r.releases = nil
	r.mu.Unlock()
	for _, ref := range refs {
		ref.Release()
	}
}
