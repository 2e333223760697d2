package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// headroomRule is how much the heap may grow past what is live before the
// next collection, as a GOGC percentage of the live heap. A proportional
// headroom (GOGC=50) suits a small heap, but at scale promfwd's live heap is
// mostly per-series state in large pointer-free pages (series entries,
// label references, symbol chunks, dedupe pages, line keys): the collector
// marks such a page without scanning it, so a cycle's cost grows far more
// slowly than the series count, and half the live heap as headroom is
// memory held for nothing.
//
// What a headroom costs is the number of cycles: the process allocates at
// some rate, and a cycle runs each time it has allocated the headroom. So
// the rule paces the headroom by the allocation rate: what is allocated in
// period (one cycle per period at most), between minHeadroom and
// maxHeadroom bytes, and never more than maxPercent or less than
// minPercent of the live heap (the floor bounds the cycles of a very large
// heap, whose marking costs more). A steady promfwd allocates little per
// sample (the scrape body, batch and request buffers are reused), so at
// scale the headroom is a few MiB, where a fixed one had to be sized for
// the worst rate (README, "Memory").
type headroomRule struct {
	maxPercent  int           // the percentage of a small heap: defaultGOGC
	minPercent  int           // the floor at scale
	minHeadroom uint64        // bytes: the least headroom a paced rule gives
	maxHeadroom uint64        // bytes: the most, and the headroom before a rate is known
	period      time.Duration // the spacing of cycles the headroom aims for
}

// adaptiveHeadroom is the rule `promfwd run` uses when GOGC is not set:
// the allocation of one second as headroom, between 4 and 16 MiB, as
// GOGC between 5 and 50 (GOGC=50 for any heap under 8 MiB live). A cycle
// costs ~5 ms of CPU at 20 MiB live and ~4-6 ms at 60 MiB (gctrace, 200k
// and 1M series), so one cycle per second at most is under 1% of a core.
// Before the rate is known (the first cycle) the headroom is 16 MiB
// (README, "Memory").
func adaptiveHeadroom() headroomRule {
	return headroomRule{maxPercent: defaultGOGC, minPercent: 5, minHeadroom: 4 << 20, maxHeadroom: 16 << 20, period: time.Second}
}

// headroom is the bytes of headroom for an allocation rate in bytes per
// second (0: not known yet).
func (r headroomRule) headroom(rate float64) uint64 {
	if rate <= 0 || r.period <= 0 {
		return r.maxHeadroom
	}
	h := uint64(rate * r.period.Seconds())
	return min(max(h, r.minHeadroom), r.maxHeadroom)
}

// percent is the GOGC for a live heap of live bytes (0: not known yet) at
// an allocation rate in bytes per second (0: not known yet).
func (r headroomRule) percent(live uint64, rate float64) int {
	if live == 0 {
		return r.maxPercent
	}
	p := r.headroom(rate) * 100 / live
	switch {
	case p >= uint64(r.maxPercent):
		return r.maxPercent
	case p <= uint64(r.minPercent):
		return r.minPercent
	}
	return int(p)
}

// Releasing free heap to the OS: after a spike (the first scrapes of many
// series build indexes they drop later, and batches queue while the CPU is
// busy parsing) the runtime keeps the freed pages and its background
// scavenger returns them at a few MiB/s: at 1M series RSS stayed 30-140 MiB
// above the heap goal for 20-30 s; in steady state it keeps 10% of the goal.
// A forced release (debug.FreeOSMemory: one extra cycle and the madvise
// calls) once free pages pass both limits below is done at most once per
// releaseEvery.
const (
	releaseMinFree = 4 << 20 // bytes free before a release is worth a cycle
	releaseEvery   = 10 * time.Second
)

// heapState is what the tuner reads after a cycle.
type heapState struct {
	live   uint64 // marked live by the last cycle
	goal   uint64 // the next cycle's heap goal
	free   uint64 // free pages the runtime still holds (not yet returned)
	allocs uint64 // bytes allocated since the process started
}

// shouldRelease: free pages above both releaseMinFree and a sixteenth of
// the heap goal. The runtime's background scavenger keeps up to 10% of the
// heap goal in free pages resident, and with the paced headroom the heap
// grows only a few MiB between cycles, so at 1M series that retention (~8
// MiB) was most of what RSS held above the heap itself. Releasing it costs
// one extra cycle (~5 ms) and faulting the pages back in as the heap grows
// again, at most once per releaseEvery: well under 1 ms of CPU per second.
func shouldRelease(h heapState) bool {
	return h.free >= releaseMinFree && h.free >= h.goal/16
}

// gcTuner applies a headroomRule after every collection. It has no
// goroutine and no ticker: a finalizer on an unreachable sentinel runs once
// per completed cycle, reads the heap the cycle found and re-arms itself, so
// an idle process pays nothing between its (rare) collections.
type gcTuner struct {
	ctx         context.Context
	rule        headroomRule
	read        func() heapState
	set         func(int) int // debug.SetGCPercent
	release     func()        // debug.FreeOSMemory, on its own goroutine
	now         func() time.Time
	percent     int       // what was set last
	rate        allocRate // bytes allocated per second
	lastRelease time.Time // when the last release started
	releasing   atomic.Bool
	done        chan struct{} // closed when the tuner has stopped
}

// sentinel is what the tuner hangs its finalizer on. The pointer field keeps
// it out of the tiny allocator, which batches pointer-free objects and
// would delay the finalizer until its neighbours die too.
type sentinel struct{ _ *int }

// startGCTuner sets the rule's percentage for a small heap and follows the
// heap until ctx is done (checked at each collection).
func startGCTuner(ctx context.Context, rule headroomRule) *gcTuner {
	t := newGCTuner(ctx, rule, readHeap, debug.SetGCPercent, debug.FreeOSMemory, time.Now)
	t.set(rule.maxPercent)
	t.percent = rule.maxPercent
	t.arm()
	return t
}

func newGCTuner(ctx context.Context, rule headroomRule, read func() heapState, set func(int) int, release func(), now func() time.Time) *gcTuner {
	return &gcTuner{ctx: ctx, rule: rule, read: read, set: set, release: release, now: now, done: make(chan struct{})}
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
// it changed (SetGCPercent recomputes the heap goal at once), and starts a
// release of free pages when shouldRelease says so. The release runs on a
// goroutine of its own (it collects, which a finalizer should not wait
// for); it ends by itself, and no second one starts while it runs.
func (t *gcTuner) adjust() {
	h := t.read()
	now := t.now()
	if p := t.rule.percent(h.live, t.rate.observe(now, h.allocs)); p != t.percent {
		t.set(p)
		t.percent = p
	}
	if !shouldRelease(h) || (!t.lastRelease.IsZero() && now.Sub(t.lastRelease) < releaseEvery) || !t.releasing.CompareAndSwap(false, true) {
		return
	}
	t.lastRelease = now
	go func() {
		defer t.releasing.Store(false)
		t.release()
	}()
}

// Done is closed once the tuner has seen its context end.
func (t *gcTuner) Done() <-chan struct{} { return t.done }

// readHeap reads the runtime's figures for the last cycle.
func readHeap() heapState {
	s := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/gc/heap/allocs:bytes"},
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return heapState{live: v(0), goal: v(1), free: v(2), allocs: v(3)}
}
