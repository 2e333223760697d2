package hec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest/observer"

	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// TestRoundTripExact sends over real HTTP and checks the receiver decodes
// exactly the input samples: names, dimensions, values, times.
func TestRoundTripExact(t *testing.T) {
	for _, tc := range []struct {
		name        string
		multi, gzip bool
		samples     int
	}{
		{"single/plain", false, false, 0},
		{"single/gzip", false, true, 0},
		{"multi/plain", true, false, 0},
		{"multi/gzip", true, true, 0},
		{"multi/gzip/many", true, true, 5000},
		{"single/gzip/many", false, true, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := hectest.New(t, hectest.Options{Indexes: []string{"metrics"}, MaxContentLength: 64 << 10})
			cfg := testConfig(srv.URL())
			cfg.MultiMetric, cfg.Gzip = tc.multi, tc.gzip
			cfg.MaxRequestBytes = 64 << 10
			samples := fixtureSamples()
			if tc.samples > 0 {
				samples = genSamples(tc.samples)
			}
			s, _, _ := newTestSink(t, cfg)
			enc := sendAll(t, s, samples)
			got := srv.Points()
			sortPoints(got)
			want := expectedPoints(cfg, samples)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("receiver points differ (%d got, %d want)\n got[0]=%+v\nwant[0]=%+v", len(got), len(want), first(got), first(want))
			}
			st := srv.Stats()
			if st.Accepted != len(enc.Requests) || st.Rejected != 0 {
				t.Errorf("stats %+v for %d requests", st, len(enc.Requests))
			}
			for _, ev := range srv.Events() {
				if ev.Multi != tc.multi {
					t.Fatalf("event multi=%v, want %v", ev.Multi, tc.multi)
				}
				if ev.Channel != s.Channel() {
					t.Fatalf("channel %q, want %q", ev.Channel, s.Channel())
				}
			}
		})
	}
}

func first(ps []hectest.Point) any {
	if len(ps) == 0 {
		return nil
	}
	return ps[0]
}

func TestSendOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fault     func(*hectest.Server)
		permanent bool
		reason    string
		accepted  int
	}{
		{"busy then success", func(s *hectest.Server) { s.FailNext(2, hectest.Busy()) }, false, "", 1},
		{"internal error then success", func(s *hectest.Server) { s.FailNext(1, hectest.InternalError()) }, false, "", 1},
		{"throttled then success", func(s *hectest.Server) { s.FailNext(1, hectest.Throttled("0")) }, false, "", 1},
		{"unhealthy queues then success", func(s *hectest.Server) {
			s.FailNext(1, hectest.Fault{Status: http.StatusServiceUnavailable, Code: 18, Text: "HEC is unhealthy", InvalidEventNumber: -1})
		}, false, "", 1},
		{"invalid data is permanent", func(s *hectest.Server) { s.FailNext(1, hectest.InvalidData(3)) }, true, "hec code 6: Invalid data format (invalid-event-number 3)", 0},
		{"incorrect index is permanent", func(s *hectest.Server) {
			s.FailNext(1, hectest.Fault{Status: http.StatusBadRequest, Code: 7, Text: "Incorrect index", InvalidEventNumber: -1})
		}, true, "hec code 7: Incorrect index", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := hectest.New(t, hectest.Options{})
			s, _, _ := newTestSink(t, testConfig(srv.URL()))
			tc.fault(srv)
			enc, err := s.Encode(fixtureSamples())
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(context.Background(), enc.Requests[0])
			var pe *sinks.PermanentError
			switch {
			case tc.permanent && !errors.As(err, &pe):
				t.Fatalf("Send = %v, want *sinks.PermanentError", err)
			case tc.permanent && (pe.Reason != tc.reason || pe.Status != http.StatusBadRequest):
				t.Fatalf("PermanentError status %d reason %q, want 400 %q", pe.Status, pe.Reason, tc.reason)
			case !tc.permanent && err != nil:
				t.Fatalf("Send = %v, want nil", err)
			}
			if got := srv.Stats().Accepted; got != tc.accepted {
				t.Fatalf("accepted %d requests, want %d", got, tc.accepted)
			}
		})
	}
}

// TestSendSplitsOn413 makes the receiver's limit smaller than the sink's:
// every request must be split until it fits, and nothing is lost.
func TestSendSplitsOn413(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "gzip"}[gz], func(t *testing.T) {
			limit := int64(4096)
			if gz {
				limit = 1024
			}
			srv := hectest.New(t, hectest.Options{MaxContentLength: limit})
			cfg := testConfig(srv.URL())
			cfg.Gzip = gz
			samples := genSamples(400)
			s, _, _ := newTestSink(t, cfg)
			enc := sendAll(t, s, samples)
			if len(enc.Requests) != 1 {
				t.Fatalf("encoded %d requests, want 1 (the receiver must force the split)", len(enc.Requests))
			}
			st := srv.Stats()
			if st.TooLarge == 0 || st.Accepted < 2 {
				t.Fatalf("stats %+v: expected 413s and several accepted halves", st)
			}
			got := srv.Points()
			sortPoints(got)
			if want := expectedPoints(cfg, samples); !reflect.DeepEqual(got, want) {
				t.Fatalf("after splitting the receiver holds %d points, want %d", len(got), len(want))
			}
		})
	}
}

func TestSendSingleEventTooLargeIsPermanent(t *testing.T) {
	srv := hectest.New(t, hectest.Options{MaxContentLength: 100})
	cfg := testConfig(srv.URL())
	cfg.Gzip = false
	s, _, _ := newTestSink(t, cfg)
	enc, _ := s.Encode(fixtureSamples()[:1])
	err := s.Send(context.Background(), enc.Requests[0])
	if !sinks.IsPermanent(err) {
		t.Fatalf("Send = %v, want a permanent error", err)
	}
}

// TestUnauthorizedKeepsDataAndNeverLeaksToken: a wrong token is retried
// (data stays queued), the sink turns unhealthy, and when ctx ends the error
// wraps ErrUnauthorized. The token appears in no error and no log line.
func TestUnauthorizedKeepsDataAndNeverLeaksToken(t *testing.T) {
	const secret = "s3cr3t-0000-token-must-not-leak"
	srv := hectest.New(t, hectest.Options{Token: "the-right-token"})
	cfg := testConfig(srv.URL())
	cfg.Token = secret
	s, logs, health := newTestSink(t, cfg)
	enc, _ := s.Encode(fixtureSamples())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, enc.Requests[0]) }()
	// Wait until the sink has been refused twice (it keeps retrying).
	if err := srv.WaitFor(context.Background(), func(st hectest.Stats) bool { return st.Rejected >= 2 }); err != nil {
		t.Fatal(err)
	}
	cancel()
	err := <-done
	if !errors.Is(err, sinks.ErrUnauthorized) {
		t.Fatalf("Send = %v, want ErrUnauthorized", err)
	}
	if sinks.IsPermanent(err) {
		t.Fatal("401/403 must not be permanent: the data stays queued")
	}
	if ok, _, _ := health.Status(); ok {
		t.Fatal("health should be unhealthy after 403")
	}
	assertNoSecret(t, secret, err.Error(), logs.All())
}

func TestTokenFileRotation(t *testing.T) {
	srv := hectest.New(t, hectest.Options{Token: "token-one"})
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("token-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(srv.URL())
	cfg.Token, cfg.TokenFile = "", path
	s, logs, health := newTestSink(t, cfg)
	sendAll(t, s, fixtureSamples())

	// Rotate at the receiver: the sink gets 403s until the file changes.
	srv.SetToken("token-two-longer")
	enc, _ := s.Encode(fixtureSamples())
	done := make(chan error, 1)
	go func() { done <- s.Send(context.Background(), enc.Requests[0]) }()
	if err := srv.WaitFor(context.Background(), func(st hectest.Stats) bool { return st.Rejected >= 1 }); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("token-two-longer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Send after rotation: %v", err)
	}
	if ok, _, _ := health.Status(); !ok {
		t.Fatal("health should recover after a 2xx")
	}
	if got := srv.Stats().Accepted; got != 2 {
		t.Fatalf("accepted %d, want 2", got)
	}
	assertNoSecret(t, "token-one", "", logs.All())
	assertNoSecret(t, "token-two-longer", "", logs.All())
}

func TestHealthProbe(t *testing.T) {
	for _, healthy := range []bool{true, false} {
		srv := hectest.New(t, hectest.Options{})
		srv.SetHealthy(healthy)
		s, logs, _ := newTestSink(t, testConfig(srv.URL()))
		s.probe(context.Background()) // what Start runs in its goroutine
		want := map[bool]string{true: "hec reachable", false: "hec unhealthy"}[healthy]
		if n := logs.FilterMessage(want).Len(); n != 1 {
			t.Errorf("healthy=%v: %d %q log lines, want 1: %v", healthy, n, want, logs.All())
		}
	}
}

func TestProbeUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there any more
	s, logs, _ := newTestSink(t, testConfig("http://"+addr))
	s.probe(context.Background())
	if logs.FilterMessage("hec not reachable").Len() != 1 {
		t.Fatalf("want a not-reachable line, got %v", logs.All())
	}
}

func assertNoSecret(t *testing.T, secret, errText string, entries []observer.LoggedEntry) {
	t.Helper()
	if strings.Contains(errText, secret) {
		t.Fatalf("error contains the token: %s", errText)
	}
	for _, e := range entries {
		var b bytes.Buffer
		b.WriteString(e.Message)
		for k, v := range e.ContextMap() {
			b.WriteString(" " + k + "=")
			b.WriteString(strings.TrimSpace(fmt.Sprint(v)))
		}
		if strings.Contains(b.String(), secret) {
			t.Fatalf("log line contains the token: %s", b.String())
		}
	}
}
