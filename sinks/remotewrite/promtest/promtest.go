// Package promtest starts a real Prometheus server (Debian's `prometheus`
// package) with its remote-write receiver enabled, for integration tests,
// and reads samples back through the HTTP query API.
package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// InstallHint tells a developer how to get the binary the tests need.
const InstallHint = "install with: apt-get install -y prometheus"

// readyLine is what Prometheus logs once it serves requests.
const readyLine = "Server is ready to receive web requests."

// startTimeout bounds one start attempt (TSDB creation, WAL replay).
const startTimeout = 60 * time.Second

// Server is a running Prometheus owned by one test; it is killed, and waited
// for, when the test ends.
type Server struct {
	// URL is the server's base address, http://127.0.0.1:<port>.
	URL string
	// WriteURL is the remote-write receiver's endpoint.
	WriteURL string

	client *http.Client
}

// Start runs prometheus on a free 127.0.0.1 port with a fresh TSDB under
// t.TempDir(), a config without scrape jobs and
// --web.enable-remote-write-receiver (plus flags, such as
// "--enable-feature=exemplar-storage"), and waits until it is ready. Without
// the binary the test is skipped, or fails when CI=true.
func Start(t testing.TB, flags ...string) *Server {
	t.Helper()
	// No scrape jobs: the only data is what the test writes.
	return StartWithConfig(t, "global:\n  evaluation_interval: 1m\n", flags...)
}

// StartWithConfig is Start with the given prometheus.yml, for tests that
// have Prometheus scrape a target itself (to compare its series with what
// promfwd writes).
func StartWithConfig(t testing.TB, config string, flags ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("prometheus binary not found (%v); %s", err, InstallHint)
		}
		t.Skipf("prometheus binary not found; %s", InstallHint)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// The port is found free and then handed over, so another process can
	// take it in between; that shows as "address already in use" and a
	// fresh port is tried.
	for attempt := 1; ; attempt++ {
		s, err := start(t, bin, cfg, filepath.Join(dir, fmt.Sprintf("data-%d", attempt)), flags)
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			t.Fatalf("promtest: %v", err)
		}
	}
}

var errPortTaken = errors.New("port taken")

func start(t testing.TB, bin, cfg, data string, flags []string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	logs := newLogBuffer(readyLine)
	cmd := exec.Command(bin, append([]string{
		"--config.file=" + cfg,
		"--storage.tsdb.path=" + data,
		"--web.listen-address=" + addr,
		"--web.enable-remote-write-receiver",
		"--log.level=info",
	}, flags...)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-logs.ready:
	case <-exited:
		if strings.Contains(logs.String(), "address already in use") {
			return nil, fmt.Errorf("%s: %w", addr, errPortTaken)
		}
		return nil, fmt.Errorf("prometheus exited before it was ready (%v); log:\n%s", waitErr, logs.String())
	case <-timer.C:
		stop()
		return nil, fmt.Errorf("prometheus not ready after %s; log:\n%s", startTimeout, logs.String())
	}
	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		stop()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})

	s := &Server{URL: "http://" + addr, WriteURL: "http://" + addr + "/api/v1/write", client: client}
	resp, err := client.Get(s.URL + "/-/ready")
	if err != nil {
		return nil, fmt.Errorf("GET /-/ready: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /-/ready: status %d", resp.StatusCode)
	}
	return s, nil
}

// Sample is one element of an instant vector.
type Sample struct {
	Labels map[string]string // including __name__ when the result has one
	Value  float64
	Time   time.Time
}

// Query evaluates expr as an instant query at time at and returns the
// vector. Any other result type is an error.
func (s *Server) Query(ctx context.Context, expr string, at time.Time) ([]Sample, error) {
	q := url.Values{}
	q.Set("query", expr)
	q.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/query?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("promtest: query %q: %w", expr, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("promtest: query %q: %w", expr, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("promtest: query %q: status %d: decode: %w", expr, resp.StatusCode, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("promtest: query %q: %s", expr, body.Error)
	}
	if body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("promtest: query %q: result type %s, want vector", expr, body.Data.ResultType)
	}
	out := make([]Sample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		ts, ok1 := r.Value[0].(float64)
		vs, ok2 := r.Value[1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("promtest: query %q: malformed value %v", expr, r.Value)
		}
		v, err := strconv.ParseFloat(vs, 64)
		if err != nil {
			return nil, fmt.Errorf("promtest: query %q: value %q: %w", expr, vs, err)
		}
		out = append(out, Sample{Labels: r.Metric, Value: v, Time: time.UnixMilli(int64(ts * 1000))})
	}
	return out, nil
}

// logBuffer collects the process output and closes ready when the marker
// line has been written.
type logBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker []byte
	ready  chan struct{}
	seen   bool
}

func newLogBuffer(marker string) *logBuffer {
	return &logBuffer{marker: []byte(marker), ready: make(chan struct{})}
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	from := max(0, b.buf.Len()-len(b.marker))
	b.buf.Write(p)
	if !b.seen && bytes.Contains(b.buf.Bytes()[from:], b.marker) {
		b.seen = true
		close(b.ready)
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
