package hec

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/common/model"

	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

func ackConfig(url string) Config {
	cfg := testConfig(url)
	cfg.Ack = AckConfig{Enabled: true, PollInterval: model.Duration(time.Second), Timeout: model.Duration(10 * time.Second)}
	return cfg
}

// TestAckWithheldResendsAfterTimeout: without an ack the same bytes are
// posted again after ack.timeout; Send returns only once an ack arrives.
func TestAckWithheldResendsAfterTimeout(t *testing.T) {
	ctx := context.Background()
	fc := clockwork.NewFakeClock()
	srv := hectest.New(t, hectest.Options{UseACK: true})
	srv.WithholdAcks(true)
	s, logs, _ := newTestSink(t, ackConfig(srv.URL()), WithClock(fc))
	s.Start(ctx)
	enc, _ := s.Encode(fixtureSamples())
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, enc.Requests[0]) }()

	// Waiters: the poll ticker and Send's ack timer (set after the post).
	mustBlock(t, fc, 2)
	fc.Advance(time.Second) // a poll: withheld, answers false
	if err := srv.WaitFor(ctx, func(st hectest.Stats) bool { return st.AckPolls >= 1 }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("Send returned %v before its ack", err)
	default:
	}
	fc.Advance(9 * time.Second) // ack.timeout passes: the request is posted again
	if err := srv.WaitFor(ctx, func(st hectest.Stats) bool { return st.Accepted == 2 }); err != nil {
		t.Fatal(err)
	}
	mustBlock(t, fc, 2) // the new ack timer is armed
	srv.WithholdAcks(false)
	fc.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatalf("Send = %v, want nil once acked", err)
	}
	bodies := srv.Bodies()
	if len(bodies) != 2 || !bytes.Equal(bodies[0], bodies[1]) {
		t.Fatalf("want the same body posted twice, got %d bodies", len(bodies))
	}
	if st := srv.Stats(); st.Acked != 1 {
		t.Fatalf("acked %d, want 1", st.Acked)
	}
	if logs.FilterMessage("hec ack not confirmed in time; posting the request again").Len() != 1 {
		t.Fatalf("want one resend warning, got %v", logs.All())
	}
}

// TestAckReleasesEachRequestOnce: concurrent Sends are released by batched
// polls, each exactly once, with no resend.
func TestAckReleasesEachRequestOnce(t *testing.T) {
	ctx := context.Background()
	fc := clockwork.NewFakeClock()
	srv := hectest.New(t, hectest.Options{UseACK: true})
	cfg := ackConfig(srv.URL())
	cfg.MaxRequestBytes = 2048
	cfg.Gzip = false
	s, _, _ := newTestSink(t, cfg, WithClock(fc))
	s.Start(ctx)
	enc, _ := s.Encode(genSamples(60))
	n := len(enc.Requests)
	if n < 3 {
		t.Fatalf("want several requests, got %d", n)
	}
	done := make(chan error, n)
	for _, r := range enc.Requests {
		go func() { done <- s.Send(ctx, r) }()
	}
	mustBlock(t, fc, 1+n) // ticker + one ack timer per request
	fc.Advance(time.Second)
	for range n {
		if err := <-done; err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	st := srv.Stats()
	if st.Accepted != n || st.Acked != n {
		t.Fatalf("stats %+v, want %d accepted and acked", st, n)
	}
	if st.AckPolls != 1 {
		t.Fatalf("%d ack polls, want 1 batched poll", st.AckPolls)
	}
}

// TestAckWithoutAckID: with ack enabled, a code-0 answer without an ackId
// cannot be confirmed: the request is not counted as delivered (issue
// 21.5); the error says why.
func TestAckWithoutAckID(t *testing.T) {
	srv := hectest.New(t, hectest.Options{})
	s, _, _ := newTestSink(t, ackConfig(srv.URL()))
	enc, err := s.Encode(fixtureSamples())
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), enc.Requests[0])
	if err == nil || sinks.IsPermanent(err) || !strings.Contains(err.Error(), "without an ackId") {
		t.Fatalf("Send = %v, want a retryable error naming the missing ackId", err)
	}
}

// TestAckSendCancelled: Send waiting for an ack stops when its ctx ends.
func TestAckSendCancelled(t *testing.T) {
	fc := clockwork.NewFakeClock()
	srv := hectest.New(t, hectest.Options{UseACK: true})
	srv.WithholdAcks(true)
	s, _, _ := newTestSink(t, ackConfig(srv.URL()), WithClock(fc))
	enc, _ := s.Encode(fixtureSamples())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, enc.Requests[0]) }()
	mustBlock(t, fc, 2) // poller started lazily by Send, and the ack timer
	cancel()
	if err := <-done; err == nil {
		t.Fatal("Send = nil after cancel, want an error")
	}
}

func mustBlock(t *testing.T, fc *clockwork.FakeClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fc.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("waiting for %d clock waiters: %v", n, err)
	}
}
