package remotewrite

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/promfwd/promfwd/sinks"
)

// TestURLSentAsConfigured: the configured endpoint, query included, is the
// request URL (no path is appended).
func TestURLSentAsConfigured(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.Path + "?" + r.URL.RawQuery
	}))
	defer srv.Close()
	s := fastSink(t, configFor(srv.URL+"/api/v1/push?tenant=a%2Fb&x=1"), sinks.Settings{})
	if err := s.Send(context.Background(), oneRequest(t, s)); err != nil {
		t.Fatal(err)
	}
	if g := <-got; g != "/api/v1/push?tenant=a%2Fb&x=1" {
		t.Fatalf("request went to %q", g)
	}
}
