package sinks

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A spent split budget is a permanent error (what is left is dropped) that
// still names ErrSplitBudget, so every sink can rely on SplitWait alone.
func TestSplitWaitBudgetSpentIsPermanent(t *testing.T) {
	ctx := WithSplitBudget(context.Background(), time.Nanosecond)
	for i := range MaxSplitRequests {
		if err := SplitWait(ctx); err != nil {
			t.Fatalf("SplitWait #%d = %v, want nil", i+1, err)
		}
	}
	err := SplitWait(ctx)
	if !IsPermanent(err) || !errors.Is(err, ErrSplitBudget) {
		t.Fatalf("SplitWait after %d attempts = %v, want a permanent error wrapping ErrSplitBudget", MaxSplitRequests, err)
	}
	var pe *PermanentError
	if !errors.As(err, &pe) || pe.Status != 413 {
		t.Errorf("SplitWait error = %#v, want status 413", pe)
	}
}
