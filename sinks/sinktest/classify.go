package sinktest

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks"
)

// checkAction drives the sink through one answer and checks that it does
// what the Action says: the kit's per-status-class test.
func checkAction(t *testing.T, h Harness, status int, want sinks.Action) {
	t.Helper()
	ok := h.SuccessStatus
	switch want {
	case sinks.Deliver:
		c := start(t, h, step{status: status})
		if err := c.send(context.Background()); err != nil {
			t.Fatalf("Send after %d = %v, want nil", status, err)
		}
		c.wantRequests(1)
		c.wantRetries(0)
	case sinks.Retry:
		if status == sinks.StatusNetworkError {
			checkNetworkError(t, h)
			return
		}
		c := start(t, h, step{status: status}, step{status: ok})
		if err := c.send(context.Background()); err != nil {
			t.Fatalf("Send after %d then %d = %v, want nil (retried)", status, ok, err)
		}
		c.wantRequests(2)
		c.wantRetries(1)
		if !bytes.Equal(c.srv.body(0), c.srv.body(1)) {
			t.Error("the retry did not resend the same bytes")
		}
	case sinks.Hold:
		checkHold(t, h, status)
	case sinks.Reject:
		c := start(t, h, step{status: status}, step{status: ok})
		err := c.send(context.Background())
		if !sinks.IsPermanent(err) {
			t.Fatalf("Send after %d = %v, want a *sinks.PermanentError", status, err)
		}
		c.wantRequests(1)
		c.wantRetries(0)
	case sinks.Split:
		c := start(t, h, step{status: status}, step{status: ok})
		if err := c.send(context.Background()); err != nil {
			t.Fatalf("Send after %d then %d = %v, want nil (split, both halves delivered)", status, ok, err)
		}
		c.wantRequests(3)
		c.wantRetries(0)
		if bytes.Equal(c.srv.body(0), c.srv.body(1)) {
			t.Error("the request after 413 was the same bytes, not a half")
		}
	default:
		t.Fatalf("sinktest: unknown action %v", want)
	}
}

// checkHold: a credentials refusal is retried with the sink unhealthy
// meanwhile, and given up (dropped as permanent) after MaxHold.
func checkHold(t *testing.T, h Harness, status int) {
	t.Helper()
	ok := h.SuccessStatus
	t.Run("rotation", func(t *testing.T) {
		var healthyAtRetry atomic.Value
		c := start(t, h, step{status: status}, step{status: ok})
		c.srv.mu.Lock()
		c.srv.script[1].before = func() {
			healthy, _, _ := c.set.Health.Status()
			healthyAtRetry.Store(healthy)
		}
		c.srv.mu.Unlock()
		if err := c.send(context.Background()); err != nil {
			t.Fatalf("Send after %d then %d = %v, want nil (held and retried)", status, ok, err)
		}
		c.wantRequests(2)
		c.wantRetries(1)
		if v, _ := healthyAtRetry.Load().(bool); v {
			t.Errorf("Settings.Health healthy after %d; pass Settings.Health to ClientOptions.Health", status)
		}
		if healthy, _, _ := c.set.Health.Status(); !healthy {
			t.Error("Settings.Health still unhealthy after a success")
		}
	})
	t.Run("max_hold", func(t *testing.T) {
		c := startHold(t, h, 20*time.Millisecond, step{status: status})
		err := c.send(context.Background())
		if !sinks.IsPermanent(err) || !errors.Is(err, sinks.ErrUnauthorized) {
			t.Fatalf("Send refused %d past MaxHold = %v, want a permanent error wrapping sinks.ErrUnauthorized", status, err)
		}
		if n := c.srv.requests(); n < 2 {
			t.Errorf("destination saw %d requests before the hold ended, want retries", n)
		}
	})
}

// checkNetworkError: no answer at all is retried (counted) until ctx ends.
func checkNetworkError(t *testing.T, h Harness) {
	t.Helper()
	c := start(t, h, step{status: h.SuccessStatus})
	c.srv.srv.Close() // connection refused from now on
	ctx, cancel := context.WithCancel(context.Background())
	c.cancelAtBackoff(3, cancel)
	err := c.send(ctx)
	if err == nil || sinks.IsPermanent(err) {
		t.Fatalf("Send to a closed port = %v, want a retryable error", err)
	}
	if got := c.retries.Load(); got < 2 {
		t.Errorf("Settings.OnRetry called %d times while the port was closed, want every retry counted", got)
	}
}
