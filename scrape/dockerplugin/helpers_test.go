package dockerplugin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// unixClient is an HTTP client whose every request goes to socket, the way
// dockerd talks to a plugin.
func unixClient(t *testing.T, socket string) *http.Client {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// answer is one plugin API response as the fake daemon sees it.
type answer struct {
	status      int
	contentType string
	allow       string
	body        map[string]any
}

// daemonCall sends one request as moby's plugin client does (POST, Accept
// header, JSON body) and decodes the JSON answer.
func daemonCall(t *testing.T, c *http.Client, method, path string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://plugin"+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.docker.plugins.v1.2+json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), allow: resp.Header.Get("Allow")}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
	}
	return a
}

// startPlugin serves s on a fresh socket in t.TempDir and returns a daemon
// client for it. Serving stops (and is checked to stop cleanly) at cleanup.
func startPlugin(t *testing.T, s *Server) (*http.Client, string) {
	t.Helper()
	socket := filepath.Join(t.TempDir(), "promfwd.sock")
	ln, err := Listen(socket)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListener: %v", err)
		}
	})
	return unixClient(t, socket), socket
}

// recorder is a Handler that counts calls and fails when told to.
type recorder struct {
	mu             sync.Mutex
	starts, stops  int
	startErr, stop error
}

func (r *recorder) StartMetrics(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts++
	return r.startErr
}

func (r *recorder) StopMetrics(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stops++
	return r.stop
}

func (r *recorder) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts, r.stops
}

func nopLogger() *zap.Logger { return zap.NewNop() }
