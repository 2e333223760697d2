package hec

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// TestAcksOutstanding: a request HEC accepted counts as outstanding until
// its ack is confirmed; a sink without ack reports none.
func TestAcksOutstanding(t *testing.T) {
	ctx := context.Background()
	fc := clockwork.NewFakeClock()
	srv := hectest.New(t, hectest.Options{UseACK: true})
	srv.WithholdAcks(true)
	s, _, _ := newTestSink(t, ackConfig(srv.URL()), WithClock(fc))
	s.Start(ctx)
	if n, ok := s.AcksOutstanding(); !ok || n != 0 {
		t.Fatalf("before any post: %d, %v; want 0, true", n, ok)
	}
	enc, _ := s.Encode(fixtureSamples())
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, enc.Requests[0]) }()
	mustBlock(t, fc, 2) // the poll ticker and the ack timer: the post was accepted
	if n, _ := s.AcksOutstanding(); n != 1 {
		t.Errorf("after an accepted post: %d outstanding, want 1", n)
	}
	srv.WithholdAcks(false)
	fc.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, _ := s.AcksOutstanding(); n != 0 {
		t.Errorf("after the ack: %d outstanding, want 0", n)
	}

	plain, _, _ := newTestSink(t, testConfig(srv.URL()))
	if _, ok := plain.AcksOutstanding(); ok {
		t.Error("a sink without ack reports acks")
	}
}
