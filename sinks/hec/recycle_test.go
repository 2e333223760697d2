package hec

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// valued is genSamples(40) (gauges) with values base+i: batches of one
// shape whose bodies have the same size but other bytes.
func valued(base int) []scrape.Sample {
	s := genSamples(40)
	for i := range s {
		s[i].Value = float64(base + i)
	}
	return s
}

// TestRecycleReusesBody: a body handed back through Recycle becomes the
// buffer of the next request of its size (gzip and plain bodies).
func TestRecycleReusesBody(t *testing.T) {
	for _, gz := range []bool{true, false} {
		cfg := testConfig("http://127.0.0.1:1")
		cfg.Gzip = gz
		s, _, _ := newTestSink(t, cfg)
		a, err := s.Encode(valued(100))
		if err != nil || len(a.Requests) != 1 {
			t.Fatalf("gzip %v: Encode = %d requests, %v", gz, len(a.Requests), err)
		}
		held, _ := s.Encode(valued(200))
		want := bytes.Clone(held.Requests[0].Body)
		s.Recycle(a.Requests[0].Body)
		b, _ := s.Encode(valued(300))
		if &b.Requests[0].Body[0] != &a.Requests[0].Body[0] {
			t.Errorf("gzip %v: the recycled body was not reused", gz)
		}
		if !bytes.Equal(held.Requests[0].Body, want) {
			t.Fatalf("gzip %v: encoding changed a body still held", gz)
		}
	}
}

// TestAckPendingBodyNotRecycled: with indexer acknowledgement a request is
// done only once acked. While its ack is outstanding the Runner encodes
// more batches of the same size (whose bodies would reuse its buffer if it
// had been handed back at the post); when the ack times out the very same
// bytes are posted again.
func TestAckPendingBodyNotRecycled(t *testing.T) {
	ctx := context.Background()
	fc := clockwork.NewFakeClock()
	srv := hectest.New(t, hectest.Options{UseACK: true})
	srv.WithholdAcks(true)
	cfg := ackConfig(srv.URL())
	cfg.Ack.MaxOutstanding = 1 // one lane: the later batches wait behind the first
	s, _, _ := newTestSink(t, cfg, WithClock(fc))
	m := sinks.NewMetrics(nil)
	r := sinks.NewRunner(s, sinks.RunnerConfig{MaxBatchSamples: 40, FlushInterval: time.Hour, Concurrency: 1},
		m.Settings("hec", nil, "promfwd/test"), m)
	r.Start(ctx)
	defer func() {
		stopped, cancel := context.WithCancel(ctx)
		cancel()
		r.Stop(stopped)
	}()

	r.Submit(valued(100))
	if err := srv.WaitFor(ctx, func(st hectest.Stats) bool { return st.Accepted == 1 }); err != nil {
		t.Fatal(err)
	}
	mustBlock(t, fc, 2) // the poll ticker and the ack timer
	r.Submit(valued(200))
	r.Submit(valued(300))
	deadline := time.Now().Add(30 * time.Second)
	for r.Stats().QueuedRequests < 2 { // encoded while the first waits for its ack
		if time.Now().After(deadline) {
			t.Fatal("later batches not encoded")
		}
		time.Sleep(time.Millisecond)
	}
	fc.Advance(10 * time.Second) // ack.timeout passes: posted again
	if err := srv.WaitFor(ctx, func(st hectest.Stats) bool { return st.Accepted == 2 }); err != nil {
		t.Fatal(err)
	}
	bodies := srv.Bodies()
	if len(bodies) != 2 || !bytes.Equal(bodies[0], bodies[1]) {
		t.Fatalf("the ack-pending request was posted again with other bytes (%d bodies)", len(bodies))
	}
}
