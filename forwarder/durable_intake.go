package forwarder

import "context"

// A scrape job does not end until what it delivered to the durable sinks
// (data_dir set) is on disk: encoded into the disk queue and covered by a
// checkpoint (sinks/runner_sync.go). So a SIGKILL loses no scrape the job
// finished, whatever flush_interval says; only a scrape in progress at the
// kill is lost, as it would be had the process died a moment earlier
// (issue 21.6). Memory-only sinks are not waited for.

// settle waits until every durable sink among routes holds what was
// submitted to it, or ctx ends (shutdown: Stop then encodes and persists
// the rest).
func settle(ctx context.Context, routes []*sinkState) {
	var waits []<-chan struct{}
	for _, st := range routes {
		if ch := st.requestSync(); ch != nil {
			waits = append(waits, ch)
		}
	}
	for _, ch := range waits {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// requestSync asks st's runner (or its successor after a reload swap) to
// make what it was given durable; nil for a sink without data_dir.
func (st *sinkState) requestSync() <-chan struct{} {
	st.swap.RLock()
	defer st.swap.RUnlock()
	if nx := st.next; nx != nil {
		return nx.requestSync()
	}
	if st.durable == nil {
		return nil
	}
	return st.runner.RequestSync()
}
