package hec

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

func resumeConfig(url string, timeout time.Duration) Config {
	cfg := testConfig(url)
	cfg.Ack = AckConfig{Enabled: true, PollInterval: model.Duration(20 * time.Millisecond), Timeout: model.Duration(timeout)}
	return cfg
}

// postUnacked sends req with acks withheld until HEC has accepted it, then
// gives up as a shutdown does; it returns the sink's saved delivery state.
func postUnacked(t *testing.T, srv *hectest.Server, cfg Config, req sinks.Request) (state []byte, channel string) {
	t.Helper()
	srv.WithholdAcks(true)
	s, _, _ := newTestSink(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, req) }()
	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := srv.WaitFor(wait, func(st hectest.Stats) bool { return st.Accepted == 1 && st.AckPolls >= 1 }); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want canceled while waiting for the ack", err)
	}
	state, err := s.SnapshotDelivery()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A poll the sink canceled may still be waiting for the server to
	// handle it; once handled after acks are released it would consume
	// the ack meant for the next sink (an ack is reported true once).
	if err := srv.WaitConnsClosed(wait); err != nil {
		t.Fatal(err)
	}
	return state, s.Channel()
}

// TestAckResumedAfterRestart: a request HEC accepted but had not acked when
// the sink stopped is not posted again by the next sink that restores the
// saved state: it polls the same ackId on the same channel and counts the
// request delivered once HEC confirms it.
func TestAckResumedAfterRestart(t *testing.T) {
	srv := hectest.New(t, hectest.Options{UseACK: true})
	cfg := resumeConfig(srv.URL(), time.Minute)
	enc, err := newEncoder(cfg, cfg.Host).encode(fixtureSamples())
	if err != nil {
		t.Fatal(err)
	}
	req := enc.Requests[0]
	state, channel := postUnacked(t, srv, cfg, req)

	srv.WithholdAcks(false)
	s2, _, _ := newTestSink(t, cfg)
	if err := s2.RestoreDelivery(state); err != nil {
		t.Fatal(err)
	}
	if s2.Channel() != channel {
		t.Fatalf("channel %s after restore, want the saved %s", s2.Channel(), channel)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s2.Send(ctx, req); err != nil {
		t.Fatalf("Send after restore = %v", err)
	}
	if st := srv.Stats(); st.Accepted != 1 || st.Acked != 1 {
		t.Fatalf("receiver accepted %d requests and acked %d, want the one request acked without a re-post", st.Accepted, st.Acked)
	}
	// Settled: nothing outstanding is saved any more.
	again, err := s2.SnapshotDelivery()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(again), `"acks"`) {
		t.Errorf("state after the ack still lists outstanding acks: %s", again)
	}
}

// TestAckResumedButExpiredIsPosted: when the saved ackId is unknown to HEC
// (expired, or already reported), the resumed wait ends at ack.timeout and
// the request is posted again, then acked.
func TestAckResumedButExpiredIsPosted(t *testing.T) {
	srv := hectest.New(t, hectest.Options{UseACK: true})
	cfg := resumeConfig(srv.URL(), 300*time.Millisecond)
	enc, err := newEncoder(cfg, cfg.Host).encode(fixtureSamples())
	if err != nil {
		t.Fatal(err)
	}
	req := enc.Requests[0]
	cfgLong := cfg
	cfgLong.Ack.Timeout = model.Duration(time.Minute)
	state, channel := postUnacked(t, srv, cfgLong, req)

	// Someone else collects the ack: HEC reports an ackId once.
	srv.WithholdAcks(false)
	poll, err := http.NewRequest(http.MethodPost, srv.URL()+PathAck, strings.NewReader(`{"acks":[0]}`))
	if err != nil {
		t.Fatal(err)
	}
	poll.Header.Set("Authorization", "Splunk "+srv.Token())
	poll.Header.Set("X-Splunk-Request-Channel", channel)
	resp, err := http.DefaultClient.Do(poll)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if st := srv.Stats(); st.Acked != 1 {
		t.Fatalf("manual poll acked %d, want 1", st.Acked)
	}

	s2, logs, _ := newTestSink(t, cfg)
	if err := s2.RestoreDelivery(state); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s2.Send(ctx, req); err != nil {
		t.Fatalf("Send after restore = %v", err)
	}
	st := srv.Stats()
	if st.Accepted != 2 || st.Acked != 2 {
		t.Fatalf("receiver accepted %d and acked %d, want the request posted again and acked", st.Accepted, st.Acked)
	}
	if b := srv.Bodies(); !bytes.Equal(b[0], b[1]) {
		t.Error("the re-post is not the same request")
	}
	if logs.FilterMessageSnippet("posting the request again").Len() != 1 {
		t.Error("no log line for the re-post")
	}
}

// TestRestoreDeliveryIgnoresOtherEndpoint: state saved for another HEC URL
// (or with acks off now) is not used: a fresh channel, every request posted.
func TestRestoreDeliveryIgnoresOtherEndpoint(t *testing.T) {
	a := hectest.New(t, hectest.Options{UseACK: true})
	b := hectest.New(t, hectest.Options{UseACK: true})
	cfg := resumeConfig(a.URL(), time.Minute)
	enc, err := newEncoder(cfg, cfg.Host).encode(fixtureSamples())
	if err != nil {
		t.Fatal(err)
	}
	state, channel := postUnacked(t, a, cfg, enc.Requests[0])
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"other url", resumeConfig(b.URL(), time.Minute)},
		{"acks off", testConfig(a.URL())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := newTestSink(t, tc.cfg)
			if err := s.RestoreDelivery(state); err != nil {
				t.Fatal(err)
			}
			if s.Channel() == channel {
				t.Error("took over the saved channel")
			}
		})
	}
	s, _, _ := newTestSink(t, resumeConfig(b.URL(), time.Minute))
	if err := s.RestoreDelivery(state); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Send(ctx, enc.Requests[0]); err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.Accepted != 1 || st.Acked != 1 {
		t.Errorf("other endpoint accepted %d, acked %d; want 1 and 1", st.Accepted, st.Acked)
	}
	if err := s.RestoreDelivery([]byte("{bad")); err == nil {
		t.Error("RestoreDelivery accepted malformed state")
	}
}
