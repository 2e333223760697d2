// Package dockerplugin owns promfwd's side of Docker's metrics-collector
// plugin protocol. Run as a managed plugin (deploy/docker-plugin), promfwd
// answers the daemon on the plugin socket: POST /Plugin.Activate declares the
// MetricsCollector interface, and POST /MetricsCollector.StartMetrics and
// /MetricsCollector.StopMetrics tell it when the daemon's own Prometheus
// endpoint, bind-mounted at /run/docker/metrics.sock, may be scraped. What
// starting and stopping means is the Handler's business; Toggle is the one
// the forwarder uses.
package dockerplugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"go.uber.org/zap"
)

// Protocol constants.
const (
	// ContentType is the media type of every plugin API answer.
	ContentType = "application/vnd.docker.plugins.v1+json"
	// Interface is what /Plugin.Activate declares.
	Interface = "MetricsCollector"
	// InterfaceType is the config.json interface type of a metrics plugin.
	InterfaceType = "docker.metricscollector/1.0"
	// DefaultSocket is where the plugin listens inside its rootfs; the file
	// name must equal config.json's Interface.Socket.
	DefaultSocket = "/run/docker/plugins/promfwd.sock"
	// MetricsURL is the daemon's metrics endpoint as the plugin sees it (a
	// scrape source URL; the HTTP path is /metrics).
	MetricsURL = "unix:///run/docker/metrics.sock"
	// maxBody bounds a request body; the daemon sends none or "{}".
	maxBody = 64 << 10
)

// Handler reacts to the daemon's metrics calls. An error is returned to the
// daemon in the answer's Err field (the daemon only logs it). Both methods
// must be idempotent: the daemon repeats them across its own restarts.
type Handler interface {
	// StartMetrics: the metrics socket is now available for scraping.
	StartMetrics(ctx context.Context) error
	// StopMetrics: the metrics socket is going away (daemon shutting down).
	StopMetrics(ctx context.Context) error
}

// Server answers the plugin protocol. It is an http.Handler; Serve runs it
// on the plugin's unix socket.
type Server struct {
	log    *zap.Logger
	routes map[string]func(http.ResponseWriter, *http.Request)
}

// NewServer returns a Server that calls h. log may be nil.
func NewServer(h Handler, log *zap.Logger) *Server {
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{log: log}
	s.routes = map[string]func(http.ResponseWriter, *http.Request){
		"/Plugin.Activate":               s.activate,
		"/MetricsCollector.StartMetrics": s.call("MetricsCollector.StartMetrics", h.StartMetrics),
		"/MetricsCollector.StopMetrics":  s.call("MetricsCollector.StopMetrics", h.StopMetrics),
	}
	return s
}

// activateResponse is the answer to /Plugin.Activate.
type activateResponse struct {
	Implements []string `json:"Implements"`
}

// errResponse is every other answer. Err is empty on success; Docker's
// plugin client reads it from non-200 answers, so failures use 4xx/5xx.
type errResponse struct {
	Err string `json:"Err"`
}

// ServeHTTP dispatches one daemon call. Paths are exact, as the daemon sends
// them; everything is POST.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, ok := s.routes[r.URL.Path]
	if !ok {
		writeJSON(w, http.StatusNotFound, errResponse{Err: fmt.Sprintf("dockerplugin: unknown endpoint %s", r.URL.Path)})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, errResponse{Err: fmt.Sprintf("dockerplugin: %s %s: method not allowed", r.Method, r.URL.Path)})
		return
	}
	if status, err := readBody(w, r); err != nil {
		s.log.Warn("bad docker plugin request", zap.String("method", r.URL.Path), zap.Error(err))
		writeJSON(w, status, errResponse{Err: err.Error()})
		return
	}
	route(w, r)
}

func (s *Server) activate(w http.ResponseWriter, _ *http.Request) {
	// Debug, not info: anyone with socket access could flood the log.
	s.log.Debug("docker daemon activated plugin", zap.String("method", "Plugin.Activate"))
	writeJSON(w, http.StatusOK, activateResponse{Implements: []string{Interface}})
}

func (s *Server) call(method string, f func(context.Context) error) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := f(r.Context()); err != nil {
			s.log.Warn("docker plugin call failed", zap.String("method", method), zap.Error(err))
			writeJSON(w, http.StatusInternalServerError, errResponse{Err: err.Error()})
			return
		}
		s.log.Debug("docker plugin call", zap.String("method", method))
		writeJSON(w, http.StatusOK, errResponse{})
	}
}

// readBody accepts what the daemon sends: nothing (moby's client encodes nil
// arguments as an empty body), "null" (older daemons) or a JSON object such
// as "{}". Anything else is a malformed request.
func readBody(w http.ResponseWriter, r *http.Request) (int, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("dockerplugin: %s: body larger than %d bytes", r.URL.Path, tooBig.Limit)
		}
		return http.StatusBadRequest, fmt.Errorf("dockerplugin: %s: read body: %w", r.URL.Path, err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return http.StatusOK, nil
	}
	var req struct{}
	if err := json.Unmarshal(body, &req); err != nil {
		return http.StatusBadRequest, fmt.Errorf("dockerplugin: %s: malformed JSON body: %w", r.URL.Path, err)
	}
	return http.StatusOK, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // the two answer types always marshal
		status, body = http.StatusInternalServerError, []byte(`{"Err":"dockerplugin: encode answer"}`)
	}
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
