package hec

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestAckPollWarningNamesAckURL: the warning for a failing ack poll names
// the ack endpoint, not the event endpoint.
func TestAckPollWarningNamesAckURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"text":"down","code":8}`, http.StatusInternalServerError)
	}))
	defer srv.Close()
	s, logs, _ := newTestSink(t, ackConfig(srv.URL))
	s.acks.mu.Lock()
	s.acks.pending[1] = make(chan struct{})
	s.acks.mu.Unlock()
	s.acks.pollOnce(context.Background())
	warns := logs.FilterMessage("hec ack poll failed").All()
	if len(warns) != 1 {
		t.Fatalf("want one ack poll warning, got %v", logs.All())
	}
	if got, want := warns[0].ContextMap()["url"], srv.URL+PathAck; got != want {
		t.Fatalf("ack poll warning url = %v, want %v", got, want)
	}
}
