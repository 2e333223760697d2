package sinks

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestRunnerRequestSync (issue 21.6): a sync request encodes what is
// pending at once (FlushInterval is an hour on a fake clock that never
// moves) and runs the checkpoint before it is answered; a request with
// nothing new to cover is answered without another checkpoint; after Stop
// requests are answered at once.
func TestRunnerRequestSync(t *testing.T) {
	fs := newFakeSink()
	var mu sync.Mutex
	ckpts := 0
	queuedAtCkpt := -1
	encoded := func() int {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		n := 0
		for _, c := range fs.chunks {
			n += len(c)
		}
		return n
	}
	tr := startRunner(t, fs, RunnerConfig{
		FlushInterval: time.Hour, CheckpointEvery: time.Hour,
		Checkpoint: func(flush func()) {
			flush()
			mu.Lock()
			ckpts++
			queuedAtCkpt = encoded()
			mu.Unlock()
		},
	})
	wait := func(ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatal("sync request never answered")
		}
	}
	tr.Submit(gauges("a", 3))
	wait(tr.RequestSync())
	mu.Lock()
	if ckpts != 1 || queuedAtCkpt != 3 {
		t.Errorf("after the first sync: %d checkpoints, %d samples encoded at it; want 1 and 3", ckpts, queuedAtCkpt)
	}
	mu.Unlock()
	if st := tr.Stats(); st.PendingSamples != 0 {
		t.Errorf("%d samples still pending after sync", st.PendingSamples)
	}
	// Delivered meanwhile or not, nothing new was submitted.
	wait(tr.RequestSync())
	mu.Lock()
	if ckpts != 1 {
		t.Errorf("a sync with nothing new ran a checkpoint (%d in all)", ckpts)
	}
	mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tr.Stop(ctx)
	wait(tr.RequestSync())
}
