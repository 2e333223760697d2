package forwarder

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// scheduler runs each job in a goroutine of its own: a timer loop on a fixed
// grid (first run after an offset, then every interval), one run at a time.
// It replaces gocron, whose removed jobs kept their singleton runner
// goroutine for the life of the scheduler (issue 21.10): here removing a
// job cancels its context and its goroutine ends after the run in progress,
// so reloads and file_sd churn leave nothing behind.
type scheduler struct {
	clock       clockwork.Clock
	stopTimeout time.Duration

	ctx    context.Context // cancelled by shutdown: every job's parent
	cancel context.CancelFunc
	wg     sync.WaitGroup // one per running job loop

	mu      sync.Mutex
	started bool
	closed  bool
	pending []*schedJob // added before start
}

// schedJob is one scheduled task. remove ends it; runNow asks for an extra
// run now (dropped if one is already asked for or running).
type schedJob struct {
	name   string
	every  time.Duration
	first  time.Duration // delay before the first run
	task   func(ctx context.Context)
	ctx    context.Context
	cancel context.CancelFunc
	now    chan struct{} // capacity 1
}

var errSchedulerStopTimeout = errors.New("scheduler: jobs still running at the stop timeout")

func newScheduler(clock clockwork.Clock, stopTimeout time.Duration) *scheduler {
	ctx, cancel := context.WithCancel(context.Background())
	return &scheduler{clock: clock, stopTimeout: stopTimeout, ctx: ctx, cancel: cancel}
}

// add schedules task every interval, first after the given delay (0: at
// once). Before start the job waits for start; after shutdown it never runs.
func (s *scheduler) add(name string, every, first time.Duration, task func(ctx context.Context)) *schedJob {
	ctx, cancel := context.WithCancel(s.ctx)
	j := &schedJob{name: name, every: every, first: first, task: task, ctx: ctx, cancel: cancel, now: make(chan struct{}, 1)}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		cancel()
	case s.started:
		s.launchLocked(j)
	default:
		s.pending = append(s.pending, j)
	}
	return j
}

// start runs the jobs added so far; later ones start as they are added.
func (s *scheduler) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	for _, j := range s.pending {
		s.launchLocked(j)
	}
	s.pending = nil
}

func (s *scheduler) launchLocked(j *schedJob) {
	s.wg.Add(1)
	go s.loop(j)
}

// remove stops j: its context is cancelled (a run in progress sees it) and
// its goroutine ends once that run returns. It does not wait.
func (j *schedJob) remove() { j.cancel() }

// runNow asks for a run as soon as the job is idle, without moving its grid.
func (j *schedJob) runNow() {
	select {
	case j.now <- struct{}{}:
	default:
	}
}

// shutdown cancels every job and waits up to stopTimeout for runs in
// progress to return.
func (s *scheduler) shutdown() error {
	s.mu.Lock()
	s.closed = true
	for _, j := range s.pending {
		j.cancel()
	}
	s.pending = nil
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	t := time.NewTimer(s.stopTimeout) // wall time: a shutdown bound, like shutdown_timeout
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return errSchedulerStopTimeout
	}
}

// loop runs j on the grid first, first+every, first+2*every, ... (relative
// to its launch); a run longer than the interval skips the ticks it
// overran, so runs never overlap or pile up.
func (s *scheduler) loop(j *schedJob) {
	defer s.wg.Done()
	next := s.clock.Now().Add(j.first)
	for {
		t := s.clock.NewTimer(next.Sub(s.clock.Now()))
		select {
		case <-j.ctx.Done():
			t.Stop()
			return
		case <-t.Chan():
		case <-j.now:
			t.Stop()
		}
		j.task(j.ctx)
		if j.ctx.Err() != nil {
			return
		}
		next = nextTick(next, s.clock.Now(), j.every)
	}
}

// nextTick is the first point of the grid next + k*every (k >= 0) after now.
func nextTick(next, now time.Time, every time.Duration) time.Time {
	if next.After(now) {
		return next
	}
	k := now.Sub(next)/every + 1
	return next.Add(k * every)
}
