package forwarder

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// failingSink answers every Send with a retryable error (a 5xx outage)
// and reports each attempt on tried.
type failingSink struct{ tried chan struct{} }

func (s *failingSink) Encode(samples []scrape.Sample) (sinks.Encoded, error) {
	return sinks.Encoded{Requests: []sinks.Request{{Body: []byte("x"), Samples: len(samples)}}}, nil
}

func (s *failingSink) Send(context.Context, sinks.Request) error {
	select {
	case s.tried <- struct{}{}:
	default:
	}
	return errors.New("status 503")
}

func (s *failingSink) Close() error { return nil }

// TestReadyzReportsNotDelivering: /readyz stayed ready while the only sink
// failed every request (health is about credentials only). Once data has
// waited StallAfter without a success, readiness names the sink.
func TestReadyzReportsNotDelivering(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Unix(1_700_000_000, 0))
	fs := &failingSink{tried: make(chan struct{}, 1)}
	r := sinks.NewRunner(fs, sinks.RunnerConfig{MaxBatchSamples: 1, Clock: clock, StallAfter: time.Minute,
		RetryWaitMin: time.Second, RetryWaitMax: time.Second}, sinks.Settings{Name: "only"}, nil)
	r.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r.Stop(ctx)
	})
	f := &Forwarder{sinks: map[string]*sinkState{"only": {name: "only", runner: r, health: sinks.NewHealth(nil)}}}
	notDelivering := func() bool {
		for _, p := range f.notReady() {
			if strings.Contains(p, "sink only not delivering") {
				return true
			}
		}
		return false
	}
	r.Submit([]scrape.Sample{{Name: "up", Value: 1, Kind: scrape.KindGauge}})
	<-fs.tried
	if notDelivering() {
		t.Fatal("not delivering right after the first failure, want a grace of StallAfter")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 61 {
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		<-fs.tried
	}
	if !notDelivering() {
		t.Fatalf("notReady = %q after 61s of failures, want the sink not delivering", f.notReady())
	}
}
