package sinks

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRunnerBackoff(t *testing.T) {
	r := NewRunner(newFakeSink(), RunnerConfig{RetryWaitMin: time.Second, RetryWaitMax: 8 * time.Second}, Settings{}, nil)
	defer r.Stop(context.Background())
	tests := []struct {
		attempt int
		err     error
		lo, hi  time.Duration
	}{
		{0, errors.New("x"), 500 * time.Millisecond, time.Second},
		{2, errors.New("x"), 2 * time.Second, 4 * time.Second},
		{1000, errors.New("x"), 4 * time.Second, 8 * time.Second},
		{0, &ThrottledError{Delay: 30 * time.Second}, 30 * time.Second, 30 * time.Second},
		{0, &ThrottledError{Delay: 48 * time.Hour}, MaxServerDelay, MaxServerDelay},
	}
	for _, tc := range tests {
		for range 50 {
			if d := r.backoff(tc.attempt, tc.err); d < tc.lo || d > tc.hi {
				t.Fatalf("backoff(%d, %v) = %v, want in [%v, %v]", tc.attempt, tc.err, d, tc.lo, tc.hi)
			}
		}
	}
}

func counterOf(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs[0].GetMetric()[0].GetCounter().GetValue()
}
