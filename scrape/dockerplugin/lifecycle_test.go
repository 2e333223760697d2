package dockerplugin

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// exposition is a slice of what dockerd serves on /run/docker/metrics.sock.
const exposition = `# HELP engine_daemon_engine_cpus_cpus The number of cpus that the host system of the engine has
# TYPE engine_daemon_engine_cpus_cpus gauge
engine_daemon_engine_cpus_cpus 2
# HELP engine_daemon_container_states_containers The count of containers in various states
# TYPE engine_daemon_container_states_containers gauge
engine_daemon_container_states_containers{state="running"} 3
`

// fakeMetricsSocket plays dockerd's metrics socket: an HTTP server on a unix
// socket answering GET /metrics with a Prometheus text exposition.
func fakeMetricsSocket(t *testing.T) (socket string, hits *atomic.Int64) {
	t.Helper()
	socket = filepath.Join(t.TempDir(), "metrics.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	hits = new(atomic.Int64)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		io.WriteString(w, exposition)
	})
	srv := &http.Server{Handler: mux}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("metrics socket: %v", err)
		}
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return socket, hits
}

// TestDaemonLifecycle drives the whole protocol as dockerd does: activate,
// start (the gated source scrapes the metrics socket), stop (it no longer
// does), start again after a daemon restart.
func TestDaemonLifecycle(t *testing.T) {
	metricsSocket, hits := fakeMetricsSocket(t)
	metrics := unixClient(t, metricsSocket)
	// scrape stands in for the forwarder's source job, gated by the Toggle.
	var toggle *Toggle
	scrape := func(ctx context.Context) (string, bool, error) {
		if !toggle.Enabled() {
			return "", false, nil
		}
		req, err := http.NewRequestWithContext(ctx, "GET", "http://docker/metrics", nil)
		if err != nil {
			return "", false, err
		}
		resp, err := metrics.Do(req)
		if err != nil {
			return "", false, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), true, err
	}
	// Written by the plugin server's goroutine, read here: atomics.
	var started, stopped atomic.Int64
	var scrapedOnStart atomic.Value
	toggle = NewToggle(
		func(ctx context.Context) error { // the forwarder scrapes at once on start
			started.Add(1)
			body, ok, err := scrape(ctx)
			if !ok {
				return errors.New("onStart ran before the source was enabled")
			}
			scrapedOnStart.Store(body)
			return err
		},
		func(context.Context) error { stopped.Add(1); return nil },
	)
	daemon, _ := startPlugin(t, NewServer(toggle, nopLogger()))

	if _, ok, _ := scrape(t.Context()); ok || hits.Load() != 0 {
		t.Fatal("source scraped before StartMetrics")
	}
	if a := daemonCall(t, daemon, "POST", "/Plugin.Activate", nil); a.status != 200 {
		t.Fatalf("activate: %+v", a)
	}
	if a := daemonCall(t, daemon, "POST", "/MetricsCollector.StartMetrics", nil); a.status != 200 || a.body["Err"] != "" {
		t.Fatalf("StartMetrics: %+v", a)
	}
	if !toggle.Enabled() || started.Load() != 1 || scrapedOnStart.Load() != exposition {
		t.Fatalf("after start: enabled=%v started=%d scraped %q", toggle.Enabled(), started.Load(), scrapedOnStart.Load())
	}
	body, ok, err := scrape(t.Context())
	if err != nil || !ok || !strings.Contains(body, `engine_daemon_container_states_containers{state="running"} 3`) {
		t.Fatalf("scheduled scrape = %q, %v, %v", body, ok, err)
	}
	if hits.Load() != 2 {
		t.Fatalf("metrics socket hits = %d, want 2", hits.Load())
	}

	// A repeated StartMetrics (daemon restart while we kept running) is
	// acknowledged without a second onStart.
	if a := daemonCall(t, daemon, "POST", "/MetricsCollector.StartMetrics", []byte("{}")); a.status != 200 || a.body["Err"] != "" {
		t.Fatalf("repeated StartMetrics: %+v", a)
	}
	if started.Load() != 1 {
		t.Fatalf("repeated start called onStart again (%d)", started.Load())
	}

	if a := daemonCall(t, daemon, "POST", "/MetricsCollector.StopMetrics", nil); a.status != 200 || a.body["Err"] != "" {
		t.Fatalf("StopMetrics: %+v", a)
	}
	if _, ok, _ := scrape(t.Context()); ok || toggle.Enabled() || stopped.Load() != 1 || hits.Load() != 2 {
		t.Fatalf("after stop: enabled=%v stopped=%d hits=%d", toggle.Enabled(), stopped.Load(), hits.Load())
	}

	if a := daemonCall(t, daemon, "POST", "/MetricsCollector.StartMetrics", []byte("null\n")); a.status != 200 || a.body["Err"] != "" {
		t.Fatalf("StartMetrics after restart: %+v", a)
	}
	if !toggle.Enabled() || started.Load() != 2 || hits.Load() != 3 {
		t.Fatalf("after restart: enabled=%v started=%d hits=%d", toggle.Enabled(), started.Load(), hits.Load())
	}
}

// TestStartFailsWhenMetricsSocketMissing: the error reaches the daemon in
// Err and the source stays disabled.
func TestStartFailsWhenMetricsSocketMissing(t *testing.T) {
	metrics := unixClient(t, filepath.Join(t.TempDir(), "absent.sock"))
	toggle := NewToggle(func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, "GET", "http://docker/metrics", nil)
		if err != nil {
			return err
		}
		resp, err := metrics.Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}, nil)
	daemon, _ := startPlugin(t, NewServer(toggle, nopLogger()))
	a := daemonCall(t, daemon, "POST", "/MetricsCollector.StartMetrics", nil)
	errText, _ := a.body["Err"].(string)
	if a.status != 500 || !strings.Contains(errText, "absent.sock") || !strings.HasPrefix(errText, "dockerplugin: start metrics:") {
		t.Fatalf("StartMetrics answer = %+v", a)
	}
	if toggle.Enabled() {
		t.Fatal("source enabled although onStart failed")
	}
}
