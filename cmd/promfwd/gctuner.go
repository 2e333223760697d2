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
// memory held for nothing. The rule gives at most maxHeadroom bytes of
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
// costs ~5 ms of CPU at 20 MiB live and ~6-13 ms at 68 MiB (gctrace, 200k
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

// Releasing free heap to the OS: after a spike (the first scrapes of many
// series build indexes they drop later, and batches queue while the CPU is
// busy parsing) the runtime keeps the freed pages and its background
// scavenger returns them at a few MiB/s: at 1M series RSS stayed 30-140 MiB
// above the heap goal for 20-30 s. A forced release (debug.FreeOSMemory: one
// extra cycle and the madvise calls) once free pages pass both limits below
// costs ~20 ms; it is done at most once per releaseEvery.
const (
	releaseMinFree = 32 << 20 // bytes free before a release is worth a cycle
	releaseEvery   = 10 * time.Second
)

// heapState is what the tuner reads after a cycle.
type heapState struct {
	live uint64 // marked live by the last cycle
	goal uint64 // the next cycle's heap goal
	free uint64 // free pages the runtime still holds (not yet returned)
}

// shouldRelease: free pages above both releaseMinFree and half the heap
// goal are more than the next cycles can reuse.
func shouldRelease(h heapState) bool {
	return h.free >= releaseMinFree && h.free >= h.goal/2
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
	if p := t.rule.percent(h.live); p != t.percent {
		t.set(p)
		t.percent = p
	}
	now := t.now()
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
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return heapState{live: v(0), goal: v(1), free: v(2)}
}
