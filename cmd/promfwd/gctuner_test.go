package main

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestHeadroomRulePercent(t *testing.T) {
	const mib = 1 << 20
	r := adaptiveHeadroom()
	for _, tc := range []struct {
		name string
		live uint64
		rate float64 // bytes per second
		want int
	}{
		{"not known yet", 0, 0, defaultGOGC},
		{"idle", 6 * mib, 100 << 10, defaultGOGC},
		{"200k series, rate unknown", 20 * mib, 0, defaultGOGC},
		{"200k series, steady", 20 * mib, 3 * mib, 20},         // 4 MiB, the least
		{"200k series, busy", 20 * mib, 6 * mib, 30},           // 6 MiB
		{"rate unknown: 16 MiB", 33 * mib, 0, 48},              // as the fixed rule did
		{"1M series, steady", 60 * mib, 5 * mib, 8},            // 5 MiB
		{"1M series, allocating fast", 60 * mib, 80 * mib, 26}, // 16 MiB, the most
		{"reaches the floor", 100 * mib, 1 * mib, 5},
		{"far past the floor", 4 << 30, 0, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.percent(tc.live, tc.rate); got != tc.want {
				t.Fatalf("percent(%d MiB, %.0f MiB/s) = %d, want %d", tc.live/mib, tc.rate/mib, got, tc.want)
			}
		})
	}
}

// TestAllocRate: the estimate weights each interval by its length over
// rateWindow and ignores readings that cannot be rates.
func TestAllocRate(t *testing.T) {
	const mib = 1 << 20
	t0 := time.Unix(1_000_000, 0)
	var a allocRate
	steps := []struct {
		at     time.Duration
		allocs uint64
		want   float64
	}{
		{0, 100 * mib, 0},                            // the first reading: no rate yet
		{time.Second, 110 * mib, 10 * mib},           // the first rate is taken whole
		{time.Second, 200 * mib, 10 * mib},           // no time passed: ignored, re-based
		{6 * time.Second, 200 * mib, 5 * mib},        // 0 B/s for half the window
		{11 * time.Second, 300 * mib, 12.5 * mib},    // 20 MiB/s for half
		{31 * time.Second, 300 * mib, 0},             // idle longer than the window
		{32 * time.Second, 10 * mib, 0},              // a counter that went back: re-based
		{33 * time.Second, 20 * mib, 0.1 * 10 * mib}, // 10 MiB/s for a tenth
	}
	for i, st := range steps {
		if got := a.observe(t0.Add(st.at), st.allocs); got != st.want {
			t.Fatalf("step %d: rate %.0f B/s, want %.0f", i, got, st.want)
		}
	}
}

// TestGCTunerAdjust: the tuner sets a new percentage only when the rule's
// answer changes, and follows the live heap down as well as up.
func TestGCTunerAdjust(t *testing.T) {
	const mib = 1 << 20
	r := headroomRule{maxPercent: 50, minPercent: 20, minHeadroom: 10 * mib, maxHeadroom: 10 * mib}
	var live uint64
	var sets []int
	tu := newGCTuner(context.Background(), r, func() heapState { return heapState{live: live} },
		func(p int) int { sets = append(sets, p); return 0 }, func() { t.Error("released with nothing free") }, time.Now)
	tu.percent = r.maxPercent
	for _, l := range []uint64{5 * mib, 20 * mib, 20 * mib, 25 * mib, 100 * mib, 200 * mib, 10 * mib} {
		live = l
		tu.adjust()
	}
	// 5 and 20 MiB give 50, the start (not set again); 25 MiB 40; 100 and
	// 200 MiB the floor, set once; 10 MiB back to 50.
	want := []int{40, 20, 50}
	if len(sets) != len(want) {
		t.Fatalf("set %v, want %v", sets, want)
	}
	for i := range want {
		if sets[i] != want[i] {
			t.Fatalf("set %v, want %v", sets, want)
		}
	}
}

func TestShouldRelease(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name       string
		free, goal uint64
		want       bool
	}{
		{"nothing free", 0, 0, false},
		{"idle heap, all free", 3 * mib, 6 * mib, false},
		{"a sixteenth of the goal", 5 * mib, 80 * mib, true},
		{"under a sixteenth of the goal", 5 * mib, 81 * mib, false},
		{"after a start-up spike", 150 * mib, 84 * mib, true},
		{"steady 1M series: the scavenger's 10%", 8 * mib, 78 * mib, true},
		{"steady 200k series", 3 * mib, 30 * mib, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := shouldRelease(heapState{free: tc.free, goal: tc.goal}); got != tc.want {
				t.Fatalf("shouldRelease(free %d MiB, goal %d MiB) = %v, want %v", tc.free/mib, tc.goal/mib, got, tc.want)
			}
		})
	}
}

// releaseStep is one cycle: the fake clock and the free pages.
type releaseStep struct {
	at   time.Duration
	free uint64
}

// TestGCTunerRelease: free pages are released when shouldRelease says so,
// at most once per releaseEvery (a fake clock).
func TestGCTunerRelease(t *testing.T) {
	const mib = 1 << 20
	t0 := time.Unix(1_000_000, 0)
	for _, tc := range []struct {
		name  string
		steps []releaseStep
		want  int
	}{
		{"nothing to release", []releaseStep{{0, 2 * mib}, {time.Minute, 4*mib - 1}}, 0},
		{"once per interval", []releaseStep{{0, 60 * mib}, {5 * time.Second, 60 * mib}, {releaseEvery, 60 * mib}, {releaseEvery + time.Second, 60 * mib}, {3 * releaseEvery, 3 * mib}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			released := make(chan struct{}, len(tc.steps))
			var now time.Time
			var h heapState
			tu := newGCTuner(context.Background(), adaptiveHeadroom(), func() heapState { return h }, func(int) int { return 0 },
				func() { released <- struct{}{} }, func() time.Time { return now })
			for _, st := range tc.steps {
				now, h = t0.Add(st.at), heapState{live: 60 * mib, goal: 80 * mib, free: st.free}
				tu.adjust()
				waitReleased(t, tu)
			}
			if len(released) != tc.want {
				t.Fatalf("released %d times, want %d", len(released), tc.want)
			}
		})
	}
}

// waitReleased waits until no release is running (the release goroutine
// reports before it clears the flag).
func waitReleased(t *testing.T, tu *gcTuner) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for tu.releasing.Load() {
		if time.Now().After(deadline) {
			t.Fatal("release still running")
		}
		runtime.Gosched()
	}
}

// TestGCTunerFollowsCollections runs the tuner on the real collector: each
// cycle's finalizer reads the (fake) live heap and sets the percentage, and
// once the context ends the tuner stops and sets nothing more.
func TestGCTunerFollowsCollections(t *testing.T) {
	const mib = 1 << 20
	r := headroomRule{maxPercent: 50, minPercent: 20, minHeadroom: 10 * mib, maxHeadroom: 10 * mib}
	var mu sync.Mutex
	live := uint64(5 * mib)
	var sets []int
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tu := newGCTuner(ctx, r,
		func() heapState { mu.Lock(); defer mu.Unlock(); return heapState{live: live} },
		func(p int) int { mu.Lock(); defer mu.Unlock(); sets = append(sets, p); return 0 },
		func() {}, time.Now)
	tu.percent = r.maxPercent
	tu.arm()
	mu.Lock()
	live = 100 * mib // percent 20 from the next cycle on
	mu.Unlock()
	lastSet := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		if len(sets) == 0 {
			return 0, 0
		}
		return len(sets), sets[len(sets)-1]
	}
	gcUntil(t, func() bool { _, p := lastSet(); return p == 20 })

	cancel()
	gcUntil(t, func() bool {
		select {
		case <-tu.Done():
			return true
		default:
			return false
		}
	})
	n, _ := lastSet()
	mu.Lock()
	live = 5 * mib // would be 50 again, but the tuner has stopped
	mu.Unlock()
	for range 3 {
		runtime.GC()
	}
	if m, p := lastSet(); m != n {
		t.Fatalf("the tuner set %d after its context ended", p)
	}
}

// gcUntil collects until cond holds (finalizers run on their own goroutine
// after a cycle), failing after a generous deadline.
func gcUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached after repeated collections")
		}
		runtime.GC()
		time.Sleep(time.Millisecond) // let the finalizer goroutine run
	}
}
