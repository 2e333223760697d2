package hectest

import (
	"context"
	"fmt"
	"net"
	"net/http"
)

// connState counts the open client connections (WaitConnsClosed).
func (s *Server) connState(_ net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case http.StateNew:
		s.conns++
	case http.StateClosed, http.StateHijacked:
		s.conns--
	default:
		return
	}
	s.notifyLocked()
}

// WaitConnsClosed blocks until every client connection is closed, so that
// no request of a client that went away (a canceled ack poll the client
// wrote before it closed the connection) is still to be handled, or until
// ctx ends.
func (s *Server) WaitConnsClosed(ctx context.Context) error {
	for {
		s.mu.Lock()
		n, ch := s.conns, s.changed
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("hectest: %d connections still open: %w", n, ctx.Err())
		}
	}
}
