package hec

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// TestSplit413EverythingIsBounded: a receiver answering 413 to everything
// used to get every split half at once, down to single events (2n-1
// requests back to back); the splits are now paced and bounded per Send.
func TestSplit413EverythingIsBounded(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		requests.Add(1)
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = io.WriteString(w, `{"text":"Content length exceeded","code":27}`)
	}))
	defer srv.Close()
	s, err := New(testConfig(srv.URL), sinks.Settings{}, withTune(func(o *sinks.ClientOptions) {
		o.RetryWaitMin, o.RetryWaitMax = time.Millisecond, 2*time.Millisecond
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	samples := make([]scrape.Sample, 500)
	for i := range samples {
		samples[i] = scrape.Sample{Name: fmt.Sprintf("m%d", i), Value: 1, Kind: scrape.KindGauge, TimestampMs: testTS}
	}
	enc, err := s.Encode(samples)
	if err != nil || len(enc.Requests) != 1 {
		t.Fatalf("Encode = %d requests, %v; want 1", len(enc.Requests), err)
	}
	err = s.Send(context.Background(), enc.Requests[0])
	if !sinks.IsPermanent(err) {
		t.Fatalf("Send = %v, want a permanent error", err)
	}
	t.Logf("500 events, receiver answering 413 to everything: %d requests", requests.Load())
	if n := requests.Load(); n > 1+sinks.MaxSplitRequests {
		t.Errorf("receiver saw %d requests, want at most %d", n, 1+sinks.MaxSplitRequests)
	}
}
