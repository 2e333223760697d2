package datadog

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/promfwd/promfwd/sinks"
)

// TestRedirectNotFollowed: a 307 from the intake must not carry DD-API-KEY
// to the host it names, and the request is a permanent failure (never
// counted as delivered).
func TestRedirectNotFollowed(t *testing.T) {
	var second atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		second.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer other.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/api/v2/series?token=loc-SECRET", http.StatusTemporaryRedirect)
	}))
	defer first.Close()
	cfg := DefaultConfig()
	cfg.URL = first.URL
	cfg.APIKey = testKey
	cfg.Host = "h"
	s, err := newSink(cfg, sinks.Settings{}, options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.send(context.Background(), []byte("{}"))
	var pe *sinks.PermanentError
	if !errors.As(err, &pe) || pe.Status != http.StatusTemporaryRedirect {
		t.Fatalf("send = %v, want a permanent 307 failure", err)
	}
	if n := second.Load(); n != 0 {
		t.Fatalf("the redirect target received %d requests, want none", n)
	}
	if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), testKey) {
		t.Errorf("error leaks a secret: %v", err)
	}
}
