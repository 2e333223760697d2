package hec

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/zap/zaptest"

	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// TestRequestsSpreadOverLanes: HEC requests carry no order requirement, so
// the encoder deals them round-robin and `concurrency` senders all work
// (issue 17: every request used to land on sender 0).
func TestRequestsSpreadOverLanes(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1")
	cfg.MaxEvents = 10
	s, _, _ := newTestSink(t, cfg)
	if got := sinks.Lanes(s, 4); got != 4 {
		t.Fatalf("Lanes(4) = %d without ack, want 4", got)
	}
	enc, err := s.Encode(genSamples(200))
	if err != nil {
		t.Fatal(err)
	}
	lanes := map[uint32]int{}
	for _, r := range enc.Requests {
		lanes[r.Shard%4]++
	}
	if len(lanes) != 4 {
		t.Fatalf("requests per lane %v, want all 4 lanes used", lanes)
	}
}

// TestAckManyOutstanding: with indexer acknowledgement, requests do not
// wait for each other's ack: with concurrency 1 the sink still keeps up
// to ack.max_outstanding requests posted and unacknowledged at once, and
// acks are polled for all of them together.
func TestAckManyOutstanding(t *testing.T) {
	srv := hectest.New(t, hectest.Options{UseACK: true})
	srv.WithholdAcks(true)
	cfg := ackConfig(srv.URL())
	cfg.Ack.PollInterval = model.Duration(20 * time.Millisecond)
	cfg.Ack.MaxOutstanding = 8
	cfg.MaxEvents = 10
	s, _, _ := newTestSink(t, cfg)
	if got := sinks.Lanes(s, 1); got != 8 {
		t.Fatalf("Lanes(1) = %d with ack, want ack.max_outstanding 8", got)
	}
	r := sinks.NewRunner(s, sinks.RunnerConfig{Concurrency: 1, MaxBatchSamples: 1000}, sinks.Settings{Name: "hec", Logger: zaptest.NewLogger(t)}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Start(ctx)
	samples := genSamples(300) // over 30 requests of at most 10 events
	r.Submit(samples)

	wait, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	// All 8 lanes post while no ack comes: 8 requests outstanding at once.
	if err := srv.WaitFor(wait, func(st hectest.Stats) bool { return st.Accepted >= 8 }); err != nil {
		t.Fatalf("%v: stats %+v, want 8 requests posted without acks", err, srv.Stats())
	}
	srv.WithholdAcks(false)
	if err := srv.WaitFor(wait, func(st hectest.Stats) bool { return st.Events == 300 && st.Acked == st.Accepted }); err != nil {
		t.Fatalf("%v: stats %+v", err, srv.Stats())
	}
	if left := r.Stop(wait); len(left) != 0 {
		t.Fatalf("%d requests left at stop", len(left))
	}
	if len(srv.Points()) != 300 {
		t.Errorf("received %d points, want 300", len(srv.Points()))
	}
}
