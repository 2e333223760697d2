package forwarder

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func TestNextTick(t *testing.T) {
	t0 := time.Unix(1000, 0)
	cases := []struct {
		now  time.Duration // after t0
		want time.Duration
	}{
		{-time.Second, 0},     // not due yet: unchanged
		{0, 10 * time.Second}, // due now: the next point
		{3 * time.Second, 10 * time.Second},
		{25 * time.Second, 30 * time.Second}, // overran two ticks: skipped, not piled up
	}
	for _, c := range cases {
		if got := nextTick(t0, t0.Add(c.now), 10*time.Second); !got.Equal(t0.Add(c.want)) {
			t.Errorf("nextTick(now=t0+%s) = t0+%s, want t0+%s", c.now, got.Sub(t0), c.want)
		}
	}
}

// TestSchedulerJobLifecycle: a job waits for start and its offset, runs on
// its grid one run at a time (a run longer than the interval skips ticks),
// runs at once on runNow, and ends after the run in progress when removed.
func TestSchedulerJobLifecycle(t *testing.T) {
	clock := clockwork.NewFakeClock()
	s := newScheduler(clock, 5*time.Second)
	runs := make(chan time.Time, 16)
	proceed := make(chan struct{})
	j := s.add("a", 10*time.Second, 3*time.Second, func(ctx context.Context) {
		runs <- clock.Now()
		<-proceed
	})
	t0 := clock.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	expectRun := func(at time.Duration) {
		t.Helper()
		select {
		case got := <-runs:
			if got.Sub(t0) != at {
				t.Fatalf("run at t0+%s, want t0+%s", got.Sub(t0), at)
			}
		case <-ctx.Done():
			t.Fatalf("no run at t0+%s", at)
		}
	}
	s.start()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * time.Second)
	expectRun(3 * time.Second)
	// The run lasts 25s: the ticks at 13s and 23s are skipped.
	clock.Advance(25 * time.Second)
	select {
	case <-runs:
		t.Fatal("a second run overlapped the first")
	default:
	}
	proceed <- struct{}{}
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second) // now t0+33s: the grid point
	expectRun(33 * time.Second)
	proceed <- struct{}{}
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	j.runNow()
	expectRun(33 * time.Second)
	// Removed during a run: the run sees its context end, then the loop exits.
	j.remove()
	proceed <- struct{}{}
	if err := s.shutdown(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// TestSchedulerStopTimeout: shutdown gives up on a run that ignores its
// context after the stop timeout.
func TestSchedulerStopTimeout(t *testing.T) {
	clock := clockwork.NewFakeClock()
	s := newScheduler(clock, 50*time.Millisecond)
	started, stuck := make(chan struct{}), make(chan struct{})
	defer close(stuck)
	s.add("stuck", time.Minute, 0, func(context.Context) { close(started); <-stuck })
	s.start()
	<-started
	if err := s.shutdown(); !errors.Is(err, errSchedulerStopTimeout) {
		t.Fatalf("shutdown = %v, want the stop timeout", err)
	}
	if j := s.add("late", time.Second, 0, func(context.Context) { t.Error("a job added after shutdown ran") }); j.ctx.Err() == nil {
		t.Error("a job added after shutdown is live")
	}
}
