package sinktest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// step is one scripted answer of the test destination.
type step struct {
	status int
	header http.Header
	hang   bool // block until the client goes away
	// before runs when the request arrives, before answering.
	before func()
}

// server is a destination on 127.0.0.1 that answers from a script (the
// last step repeats) and records what it received.
type server struct {
	t      *testing.T
	h      Harness
	srv    *httptest.Server
	mu     sync.Mutex
	script []step
	bodies [][]byte
	seen   chan struct{} // one token per request received
}

func newServer(t *testing.T, h Harness, script ...step) *server {
	s := &server{t: t, h: h, script: script, seen: make(chan struct{}, 1024)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.srv.CloseClientConnections() // ends hanging handlers
		s.srv.Close()
	})
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("sinktest: reading request body: %v", err)
	}
	s.mu.Lock()
	n := len(s.bodies)
	s.bodies = append(s.bodies, body)
	st := s.script[min(n, len(s.script)-1)]
	s.mu.Unlock()
	if s.h.Inspect != nil {
		s.h.Inspect(s.t, r, body)
	}
	select {
	case s.seen <- struct{}{}:
	default:
	}
	if st.before != nil {
		st.before()
	}
	if st.hang {
		<-r.Context().Done()
		return
	}
	for k, v := range st.header {
		w.Header()[k] = v
	}
	s.h.Answer(w, st.status)
}

func (s *server) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func (s *server) body(i int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[i]
}
