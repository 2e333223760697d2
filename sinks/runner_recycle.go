package sinks

// recycle hands req's body back to the sink (a Recycler) once the Runner
// is done with it for good: it was delivered or rejected (Send returned, and
// no reader of it outlives Send: NewBodyRequest), or a memory queue evicted
// it. Nothing else holds a popped or evicted request: the memory queue has
// forgotten it, the split and acknowledgement paths of the sinks finish
// within Send (HEC's acker keeps only a hash of the body), and only
// undelivered requests reach leftovers, which are not recycled.
//
// With a DurableQueue nothing is recycled: the queue may keep the body in
// its memory cache, and its inspection and replay paths hand it out again.
func (r *Runner) recycle(req Request) {
	if r.durable != nil || req.Body == nil {
		return
	}
	if rc, ok := r.sink.(Recycler); ok {
		rc.Recycle(req.Body)
	}
}
