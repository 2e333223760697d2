package sinks

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestRunnerCountsEveryRetry: a Send failure the HTTP client does not retry
// itself (a token file, an ack) is retried by the runner, and that retry is
// counted in promfwd_sink_retries_total (it stayed 0 before).
func TestRunnerCountsEveryRetry(t *testing.T) {
	fs := newFakeSink()
	failed := make(chan struct{}, 2)
	fails := 2
	fs.send = func(context.Context, Request) error {
		if fails > 0 {
			fails--
			failed <- struct{}{}
			return errors.New("token file unreadable")
		}
		return nil
	}
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 1, RetryWaitMin: time.Second, RetryWaitMax: 2 * time.Second})
	r.Submit(gauges("a", 1))
	for range 2 {
		<-failed
		r.waitTimers(t, 1)
		r.clock.Advance(2 * time.Second)
	}
	waitDelivered(t, fs, 1)
	if v := r.value(t, "promfwd_sink_retries_total"); v != 2 {
		t.Errorf("retries_total = %v after two runner retries, want 2", v)
	}
}

// TestRunnerPartialRejection: a sink that split a request and had some of
// its samples refused reports them; they are counted under the receiver's
// reason, the rest as sent, and the dedupe is not reset (the request was
// not dropped whole).
func TestRunnerPartialRejection(t *testing.T) {
	fs := newFakeSink()
	fs.send = func(context.Context, Request) error {
		return errors.Join(nil, &PermanentError{Status: 400, Reason: "out of bounds", Samples: 1, DropReason: "out_of_bounds"})
	}
	var drops atomic.Int32
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 4, OnDrop: func() { drops.Add(1) }})
	r.Submit(gauges("a", 4))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r.Stop(ctx)
	if v := r.value(t, "promfwd_sink_dropped_samples_total", "reason", "out_of_bounds"); v != 1 {
		t.Errorf("dropped{out_of_bounds} = %v, want 1", v)
	}
	if v := r.value(t, "promfwd_sink_samples_sent_total"); v != 3 {
		t.Errorf("samples_sent = %v, want 3 (the request's other samples)", v)
	}
	if n := drops.Load(); n != 0 {
		t.Errorf("OnDrop called %d times for a partial rejection, want 0", n)
	}
}

// TestRunnerOnDropWholeRejection: a request refused whole calls OnDrop, so
// the forwarder's dedupe forgets what it recorded as sent.
func TestRunnerOnDropWholeRejection(t *testing.T) {
	fs := newFakeSink()
	fs.send = func(context.Context, Request) error {
		return &PermanentError{Status: 400, Reason: "bad"}
	}
	var drops atomic.Int32
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 2, OnDrop: func() { drops.Add(1) }})
	r.Submit(gauges("a", 2))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r.Stop(ctx)
	if n := drops.Load(); n != 1 {
		t.Errorf("OnDrop called %d times, want 1", n)
	}
	if v := r.value(t, "promfwd_sink_dropped_samples_total", "reason", DropRejected); v != 2 {
		t.Errorf("dropped{rejected} = %v, want 2", v)
	}
}

// TestRunnerDelivering: during a continuous outage (every attempt fails)
// promfwd_sink_delivering turns 0 once data has waited StallAfter without
// a success, while promfwd_sink_healthy (credentials) stays 1; the first
// success turns it back to 1.
func TestRunnerDelivering(t *testing.T) {
	fs := newFakeSink()
	var down atomic.Bool
	down.Store(true)
	failed := make(chan struct{}, 1)
	fs.send = func(context.Context, Request) error {
		if down.Load() {
			select {
			case failed <- struct{}{}:
			default:
			}
			return errors.New("status 503")
		}
		return nil
	}
	stall := 5 * time.Minute
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 1, RetryWaitMin: time.Second, RetryWaitMax: 10 * time.Second, StallAfter: stall})
	if v := r.value(t, "promfwd_sink_delivering"); v != 1 {
		t.Fatalf("delivering = %v for an idle new sink, want 1", v)
	}
	r.Submit(gauges("a", 1))
	for elapsed := time.Duration(0); elapsed <= stall; elapsed += 10 * time.Second {
		<-failed
		r.waitTimers(t, 1)
		if elapsed < stall && !r.Delivering() {
			t.Fatalf("not delivering after %v, want delivering until %v", elapsed, stall)
		}
		r.clock.Advance(10 * time.Second)
	}
	<-failed
	if v := r.value(t, "promfwd_sink_delivering"); v != 0 {
		t.Errorf("delivering = %v after %v of failures, want 0", v, stall)
	}
	if v := r.value(t, "promfwd_sink_healthy"); v != 1 {
		t.Errorf("healthy = %v, want 1 (it reflects credentials only)", v)
	}
	down.Store(false)
	r.waitTimers(t, 1)
	r.clock.Advance(10 * time.Second)
	waitDelivered(t, fs, 1)
	// The fake sink reports the request from inside Send; the runner
	// records the success after Send returns, so wait for it.
	deadline := time.Now().Add(30 * time.Second)
	for !r.Delivering() {
		if time.Now().After(deadline) {
			t.Fatal("still not delivering after a success")
		}
		time.Sleep(time.Millisecond)
	}
}
