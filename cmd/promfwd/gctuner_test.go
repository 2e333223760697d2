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
		want int
	}{
		{"not known yet", 0, defaultGOGC},
		{"idle", 6 * mib, defaultGOGC},
		{"200k series", 20 * mib, defaultGOGC},
		{"headroom reaches the cap", 32 * mib, defaultGOGC},
		{"just past the cap", 33 * mib, 48},
		{"1M series", 68 * mib, 23},
		{"reaches the floor", 80 * mib, 20},
		{"first scrapes of 1M series", 120 * mib, 20},
		{"far past the floor", 4 << 30, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.percent(tc.live); got != tc.want {
				t.Fatalf("percent(%d MiB) = %d, want %d", tc.live/mib, got, tc.want)
			}
		})
	}
}

// TestGCTunerAdjust: the tuner sets a new percentage only when the rule's
// answer changes, and follows the live heap down as well as up.
func TestGCTunerAdjust(t *testing.T) {
	const mib = 1 << 20
	r := headroomRule{maxPercent: 50, minPercent: 20, maxHeadroom: 10 * mib}
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
		{"small heap, all free", 31 * mib, 10 * mib, false},
		{"half the goal", 32 * mib, 64 * mib, true},
		{"under half the goal", 32 * mib, 65 * mib, false},
		{"after a start-up spike", 150 * mib, 84 * mib, true},
		{"steady 1M series", 20 * mib, 84 * mib, false},
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
		{"nothing to release", []releaseStep{{0, 10 * mib}, {time.Minute, 39 * mib}}, 0},
		{"once per interval", []releaseStep{{0, 60 * mib}, {5 * time.Second, 60 * mib}, {releaseEvery, 60 * mib}, {releaseEvery + time.Second, 60 * mib}, {3 * releaseEvery, 10 * mib}}, 2},
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
	r := headroomRule{maxPercent: 50, minPercent: 20, maxHeadroom: 10 * mib}
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
