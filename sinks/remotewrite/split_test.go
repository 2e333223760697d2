package remotewrite

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/remotewrite/promtest"
)

// gaugeBatch is n gauges g0..g(n-1) at ts, except those in old, at oldTS.
func gaugeBatch(n int, ts, oldTS int64, old ...int) []scrape.Sample {
	out := make([]scrape.Sample, n)
	for i := range out {
		at := ts
		for _, o := range old {
			if o == i {
				at = oldTS
			}
		}
		out[i] = smp(fmt.Sprintf("g%d", i), at, float64(i), "job", "split")
	}
	return out
}

// strictReceiver answers like Prometheus: 400 "out of bounds" when any
// sample is older than cutoff, else 204, recording what it accepted.
type strictReceiver struct {
	t        *testing.T
	cutoff   int64
	status   int // if set, the answer to everything
	mu       sync.Mutex
	requests int
	accepted map[string]bool
}

func (r *strictReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if r.status != 0 {
		http.Error(w, http.StatusText(r.status), r.status)
		return
	}
	series := decodeBody(r.t, body)
	for _, s := range series {
		for _, smp := range s.Samples {
			if smp.TS < r.cutoff {
				http.Error(w, "out of bounds", http.StatusBadRequest)
				return
			}
		}
	}
	for _, s := range series {
		r.accepted[s.Labels[0].Value] = true
	}
	w.WriteHeader(http.StatusNoContent)
}

func encodeOne(t *testing.T, s *Sink, samples []scrape.Sample) sinks.Request {
	t.Helper()
	enc, err := s.Encode(samples)
	if err != nil || len(enc.Requests) != 1 {
		t.Fatalf("Encode = %+v, %v; want one request", enc, err)
	}
	return enc.Requests[0]
}

// TestSendIsolatesRejectedSamples: one too-old sample among 20 used to get
// the whole request dropped (400 is permanent); now the request is split
// until the sample is alone, the other 19 are delivered and the one is
// reported with the receiver's reason.
func TestSendIsolatesRejectedSamples(t *testing.T) {
	rcv := &strictReceiver{t: t, cutoff: 1_700_000_000_000, accepted: map[string]bool{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	s := fastSink(t, configFor(srv.URL), sinks.Settings{})
	req := encodeOne(t, s, gaugeBatch(20, 1_700_000_000_000, 1_600_000_000_000, 13))
	err := s.Send(context.Background(), req)
	pes, ok := sinks.Permanents(err)
	if !ok || len(pes) != 1 || pes[0].Samples != 1 || pes[0].DropReason != "out_of_bounds" || pes[0].Reason != "out of bounds" {
		t.Fatalf("Send = %v; want one permanent error for 1 sample, reason out_of_bounds", err)
	}
	if len(rcv.accepted) != 19 || rcv.accepted["g13"] {
		t.Fatalf("receiver accepted %d series (g13: %v), want the 19 good ones", len(rcv.accepted), rcv.accepted["g13"])
	}
	t.Logf("one out-of-bounds sample among 20: %d requests", rcv.requests)
	if rcv.requests > 1+2*5*2 { // ~2·log2(20) halves
		t.Errorf("%d requests to isolate one sample, want at most %d", rcv.requests, 1+2*5*2)
	}
}

// TestSend413EverythingIsBounded: a receiver answering 413 to everything
// used to be hit about 200 times a second while requests were split; the
// splits are now paced and bounded, and what cannot be delivered is
// dropped and counted.
func TestSend413EverythingIsBounded(t *testing.T) {
	rcv := &strictReceiver{t: t, status: http.StatusRequestEntityTooLarge, accepted: map[string]bool{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	s := fastSink(t, configFor(srv.URL), sinks.Settings{})
	req := encodeOne(t, s, gaugeBatch(500, 1_700_000_000_000, 0))
	err := s.Send(context.Background(), req)
	pes, ok := sinks.Permanents(err)
	if !ok || len(pes) == 0 {
		t.Fatalf("Send = %v, want permanent errors", err)
	}
	total := 0
	for _, pe := range pes {
		if pe.DropReason != "too_large" || pe.Samples < 1 {
			t.Errorf("rejection %+v, want reason too_large with a sample count", pe)
		}
		total += pe.Samples
	}
	if total != 500 {
		t.Errorf("rejections cover %d samples, want all 500", total)
	}
	t.Logf("500 samples, receiver answering 413 to everything: %d requests, %d rejections", rcv.requests, len(pes))
	if rcv.requests > 1+sinks.MaxSplitRequests {
		t.Errorf("receiver saw %d requests, want at most %d", rcv.requests, 1+sinks.MaxSplitRequests)
	}
}

// TestSplitPausesBetweenAttempts: each split attempt waits splitPause.
func TestSplitPausesBetweenAttempts(t *testing.T) {
	rcv := &strictReceiver{t: t, status: http.StatusRequestEntityTooLarge, accepted: map[string]bool{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	s := fastSink(t, configFor(srv.URL), sinks.Settings{})
	s.splitPause = 20 * time.Millisecond
	start := time.Now()
	_ = s.Send(context.Background(), encodeOne(t, s, gaugeBatch(2, 1_700_000_000_000, 0)))
	// 1 request, then two halves, each after a pause: at least 2 pauses.
	if rcv.requests != 3 {
		t.Fatalf("%d requests, want 3", rcv.requests)
	}
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Errorf("split attempts took %v, want at least two pauses of 20ms", el)
	}
}

// TestPrometheusRejectsOnlyTheOldSample runs against the real Prometheus:
// one sample older than the TSDB head accepts (out of bounds) among fresh
// ones. The fresh ones must be stored, the old one reported.
func TestPrometheusRejectsOnlyTheOldSample(t *testing.T) {
	prom := promtest.Start(t)
	s := fastSink(t, configFor(prom.WriteURL), sinks.Settings{})
	now := time.Now().Add(-time.Minute).Truncate(time.Second)
	// A first write sets the head's time range; a sample hours older is
	// then out of bounds.
	if err := s.Send(context.Background(), encodeOne(t, s, gaugeBatch(1, now.UnixMilli(), 0))); err != nil {
		t.Fatalf("first write: %v", err)
	}
	old := now.Add(-6 * time.Hour).UnixMilli()
	err := s.Send(context.Background(), encodeOne(t, s, gaugeBatch(8, now.Add(time.Second).UnixMilli(), old, 5)))
	pes, ok := sinks.Permanents(err)
	if !ok || len(pes) != 1 || pes[0].Samples != 1 {
		t.Fatalf("Send = %v; want one rejected sample", err)
	}
	t.Logf("Prometheus refused the old sample: %q (counted as %s)", pes[0].Reason, pes[0].DropReason)
	if pes[0].DropReason != "out_of_bounds" && pes[0].DropReason != "too_old" {
		t.Errorf("drop reason %q, want out_of_bounds or too_old", pes[0].DropReason)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := prom.Query(ctx, `{job="split"}`, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, smp := range got {
		names[smp.Labels["__name__"]] = true
	}
	for i := 1; i < 8; i++ { // g0 was also written first, at now
		if want := i != 5; names[fmt.Sprintf("g%d", i)] != want {
			t.Errorf("g%d stored = %v, want %v", i, !want, want)
		}
	}
}
