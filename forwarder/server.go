package forwarder

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// readiness reports what keeps the service from being ready; empty = ready.
type readiness func() []string

// server serves /metrics, /healthz, /readyz and what extra registers (the
// status pages), secured by webConfig (status_server.go) when set.
type server struct {
	srv       *http.Server
	ln        net.Listener
	log       *zap.Logger
	webConfig string
	tls       bool
}

// listen binds addr now (so a busy port fails at start-up, and the
// quickstart can scrape itself as soon as Run returns from binding).
func listen(addr string, reg *prometheus.Registry, ready readiness, log *zap.Logger, extra func(*http.ServeMux)) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("server: listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg,
		EnableOpenMetrics: true,
		ErrorLog:          zap.NewStdLog(log),
	}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		problems := ready()
		if len(problems) == 0 {
			_, _ = w.Write([]byte("ready\n"))
			return
		}
		sort.Strings(problems)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(strings.Join(problems, "\n") + "\n"))
	})
	if extra != nil {
		extra(mux)
	}
	return &server{
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		ln:  ln,
		log: log,
	}, nil
}

// Addr is the bound address (useful when listening on port 0).
func (s *server) Addr() string { return s.ln.Addr().String() }

func (s *server) serve() {
	if err := s.serveWeb(); err != nil && !errors.Is(err, http.ErrServerClosed) { // status_server.go
		s.log.Error("self-metrics server stopped", zap.Error(err))
	}
}

func (s *server) shutdown(ctx context.Context) {
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
}
