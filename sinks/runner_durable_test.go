package sinks

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// recordingQueue is a DurableQueue over a MemoryQueue that records Done
// calls and what was popped but never finished.
type recordingQueue struct {
	*MemoryQueue
	mu      sync.Mutex
	popped  []string
	done    []string
	current map[int]string
}

func newRecordingQueue() *recordingQueue {
	return &recordingQueue{MemoryQueue: NewMemoryQueue(1<<20, 1, nil), current: map[int]string{}}
}

func (q *recordingQueue) Pop(ctx context.Context, lane int) (Request, time.Time, error) {
	r, at, err := q.MemoryQueue.Pop(ctx, lane)
	if err == nil {
		q.mu.Lock()
		q.popped = append(q.popped, string(r.Body))
		q.current[lane] = string(r.Body)
		q.mu.Unlock()
	}
	return r, at, err
}

func (q *recordingQueue) Done(lane int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.done = append(q.done, q.current[lane])
	delete(q.current, lane)
}

func (q *recordingQueue) snapshot() (popped, done []string, open map[int]string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	open = map[int]string{}
	for k, v := range q.current {
		open[k] = v
	}
	return append([]string(nil), q.popped...), append([]string(nil), q.done...), open
}

// TestRunnerDurableQueue: delivered and rejected requests are marked Done;
// the one the runner gives up on at Stop is not, nothing is Drained and
// Stop returns no leftovers (they stay stored); the checkpoint hook runs
// after encodes and once at Stop.
func TestRunnerDurableQueue(t *testing.T) {
	fs := newFakeSink()
	fs.perSample = true
	fail := make(chan struct{})
	fs.send = func(ctx context.Context, req Request) error {
		switch string(req.Body) {
		case "rejected0":
			return &PermanentError{Status: 400, Reason: "bad"}
		case "stuck0":
			close(fail)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	q := newRecordingQueue()
	var ckpts int
	var mu sync.Mutex
	cfg := RunnerConfig{
		FlushInterval: time.Millisecond, Queue: q, RetryWaitMin: time.Hour,
		Checkpoint: func(flush func()) {
			flush()
			mu.Lock()
			ckpts++
			mu.Unlock()
		},
	}
	r := NewRunner(fs, cfg, Settings{Name: "t", Logger: zap.NewNop()}, nil)
	r.Start(context.Background())
	r.Submit(gauges("ok", 1)[:1])
	waitDelivered(t, fs, 1)
	r.Submit(gauges("rejected", 1)[:1])
	r.Submit(gauges("stuck", 1)[:1])
	select {
	case <-fail:
	case <-time.After(30 * time.Second):
		t.Fatal("the stuck request was never sent")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no time to drain: the stuck request is given up
	if left := r.Stop(ctx); len(left) != 0 {
		t.Fatalf("Stop returned %d leftovers; a durable queue keeps them", len(left))
	}
	popped, done, open := q.snapshot()
	t.Logf("popped %v done %v open %v", popped, done, open)
	if !slices.Equal(done, []string{"ok0", "rejected0"}) || len(open) != 1 || open[0] != "stuck0" {
		t.Fatalf("done = %v, in flight = %v: want the delivered and the rejected request done, the stuck one open", done, open)
	}
	mu.Lock()
	defer mu.Unlock()
	if ckpts < 2 {
		t.Fatalf("checkpoint ran %d times, want after encodes and at Stop", ckpts)
	}
	if _, _, err := q.MemoryQueue.Pop(ctx, 0); !errors.Is(err, context.Canceled) && !errors.Is(err, ErrQueueClosed) {
		t.Fatalf("queue after Stop: %v", err)
	}
}
