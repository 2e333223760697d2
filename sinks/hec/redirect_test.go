package hec

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/promfwd/promfwd/sinks"
)

// TestRedirectNotFollowed: a 307 from HEC must not carry the token to the
// host it names, and the request is a permanent failure.
func TestRedirectNotFollowed(t *testing.T) {
	var second atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		second.Add(1)
		_, _ = w.Write([]byte(`{"text":"Success","code":0}`))
	}))
	defer other.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer first.Close()
	s, _, _ := newTestSink(t, testConfig(first.URL))
	enc, err := s.Encode(fixtureSamples())
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), enc.Requests[0])
	var pe *sinks.PermanentError
	if !errors.As(err, &pe) || pe.Status != http.StatusTemporaryRedirect {
		t.Fatalf("Send = %v, want a permanent 307 failure", err)
	}
	if n := second.Load(); n != 0 {
		t.Fatalf("the redirect target received %d requests, want none", n)
	}
}
