package sinks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// MaxSplitRequests bounds the requests one Send makes while splitting a
// request the destination refused as too large (or, for remote-write, for
// some of its samples): a few bad parts are isolated, and a destination
// refusing everything sees at most this many.
const MaxSplitRequests = 64

// DefaultSplitPause is the wait before each attempt of a split request.
const DefaultSplitPause = 500 * time.Millisecond

// ErrSplitBudget is wrapped by SplitWait's error once a Send has made
// MaxSplitRequests split attempts; the sink drops what is left.
var ErrSplitBudget = errors.New("split budget spent")

type splitKey struct{}

type splitBudget struct {
	left  int
	pause time.Duration
}

// WithSplitBudget returns a context carrying a fresh split budget for one
// Send: MaxSplitRequests attempts, each after pause (0: DefaultSplitPause).
// Sends of one request are sequential, so the budget needs no lock.
func WithSplitBudget(ctx context.Context, pause time.Duration) context.Context {
	if pause <= 0 {
		pause = DefaultSplitPause
	}
	return context.WithValue(ctx, splitKey{}, &splitBudget{left: MaxSplitRequests, pause: pause})
}

// SplitWait takes one attempt from ctx's split budget and waits its pause,
// so a destination answering 413 to everything is not flooded. When the
// budget is spent it returns a *PermanentError (status 413) wrapping
// ErrSplitBudget, so what is left is dropped; otherwise ctx's error. Without a budget
// in ctx it only waits DefaultSplitPause.
func SplitWait(ctx context.Context) error {
	b, ok := ctx.Value(splitKey{}).(*splitBudget)
	pause := DefaultSplitPause
	if ok {
		if b.left <= 0 {
			return &PermanentError{Status: http.StatusRequestEntityTooLarge, Reason: "request too large: split budget spent", Err: ErrSplitBudget}
		}
		b.left--
		pause = b.pause
	}
	t := time.NewTimer(pause)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("split: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}
