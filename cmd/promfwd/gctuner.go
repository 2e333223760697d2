package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// headroomRule is how much the heap may grow past what is live before the
// next collection, as a GOGC percentage of the live heap. A proportional
// headroom (GOGC=50) suits a small heap, but at scale promfwd's live heap is
// mostly per-series state in large pointer-free pages (series entries,
// label references, symbol chunks, dedupe pages, line keys): the collector
// marks such a page without scanning it, so a cycle costs about the same
// whether 200k or 1M series are live, and half the live heap as headroom
// is memory held for nothing. The rule gives at most maxHeadroom bytes of
// headroom, but never less than minPercent of the live heap, so that the
// number of collections per sample stays bounded however large it grows
// (README, "Memory").
type headroomRule struct {
	maxPercent  int    // the percentage of a small heap: defaultGOGC
	minPercent  int    // the floor at scale
	maxHeadroom uint64 // bytes, between the two
}

// adaptiveHeadroom is the rule `promfwd run` uses when GOGC is not set:
// GOGC=50 up to 32 MiB live (about 300k series with one sink), a fixed
// 16 MiB of headroom above that, and 20% from 80 MiB live on. A cycle
// costs ~5 ms of CPU at 20 MiB live and ~8 ms at 68 MiB (gctrace, 200k
// and 1M series) while promfwd allocates ~170 B per sample either way, so
// the collector's CPU per sample is about allocation × cycle cost /
// headroom: GOGC=50 at 200k series (10 MiB headroom) costs ~90 ms per 1M
// samples, and this rule keeps 1M series at about the same (README,
// "Memory").
func adaptiveHeadroom() headroomRule {
	return headroomRule{maxPercent: defaultGOGC, minPercent: 20, maxHeadroom: 16 << 20}
}

// percent is the GOGC for a live heap of live bytes (0: not known yet).
func (r headroomRule) percent(live uint64) int {
	if live == 0 {
		return r.maxPercent
	}
	p := r.maxHeadroom * 100 / live
	switch {
	case p >= uint64(r.maxPercent):
		return r.maxPercent
	case p <= uint64(r.minPercent):
		return r.minPercent
	}
	return int(p)
}

// gcTuner applies a headroomRule after every collection. It has no
// goroutine and no ticker: a finalizer on an unreachable sentinel runs once
// per completed cycle, reads the live heap the cycle found and re-arms
// itself, so an idle process pays nothing between its (rare) collections.
type gcTuner struct {
	ctx     context.Context
	rule    headroomRule
	live    func() uint64 // the live heap after the last cycle
	set     func(int) int // debug.SetGCPercent
	percent int           // what was set last
	done    chan struct{} // closed when the tuner has stopped
}

// sentinel is what the tuner hangs its finalizer on. The pointer field keeps
// it out of the tiny allocator, which batches pointer-free objects and
// would delay the finalizer until its neighbours die too.
type sentinel struct{ _ *int }

// startGCTuner sets the rule's percentage for a small heap and follows the
// live heap until ctx is done (checked at each collection).
func startGCTuner(ctx context.Context, rule headroomRule) *gcTuner {
	t := newGCTuner(ctx, rule, liveHeap, debug.SetGCPercent)
	t.set(rule.maxPercent)
	t.percent = rule.maxPercent
	t.arm()
	return t
}

func newGCTuner(ctx context.Context, rule headroomRule, live func() uint64, set func(int) int) *gcTuner {
	return &gcTuner{ctx: ctx, rule: rule, live: live, set: set, done: make(chan struct{})}
}

func (t *gcTuner) arm() {
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) { t.afterGC() })
}

// afterGC runs on the runtime's finalizer goroutine after each cycle.
func (t *gcTuner) afterGC() {
	if t.ctx.Err() != nil {
		close(t.done)
		return
	}
	t.adjust()
	t.arm()
}

// adjust sets the percentage the rule gives for the current live heap, if
// it changed (SetGCPercent recomputes the heap goal at once).
func (t *gcTuner) adjust() {
	live := t.live()
	p := t.rule.percent(live)
	if p == t.percent {
		return
	}
	t.set(p)
	t.percent = p
}

// Done is closed once the tuner has seen its context end.
func (t *gcTuner) Done() <-chan struct{} { return t.done }

const liveHeapSample = "/gc/heap/live:bytes"

// liveHeap is the heap the last collection marked live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: liveHeapSample}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
