package scrape

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// tgtUnixServer serves /metrics-style answers on a real unix socket and
// reports the request path and Host it saw.
func tgtUnixServer(t *testing.T) (string, chan string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "metrics.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 4)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Host + r.URL.Path
		if r.URL.Path != "/metrics" && r.URL.Path != "/v1/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("# TYPE engine_daemon_container_states_containers gauge\nengine_daemon_container_states_containers{state=\"running\"} 3\n"))
	})}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return sock, seen
}

func TestScrapeUnixSocket(t *testing.T) {
	sock, seen := tgtUnixServer(t)
	cases := []struct {
		name, path, wantSeen, wantErr string
	}{
		{"default path", "", "localhost/metrics", ""},
		{"custom path", "/v1/metrics", "localhost/v1/metrics", ""},
		{"wrong path", "/nope", "localhost/nope", "404 Not Found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := tgtNew(t, "unix://"+sock, func(cfg *TargetConfig) { cfg.MetricsPath = c.path })
			res := tg.Scrape(context.Background(), tgtNow)
			if got := <-seen; got != c.wantSeen {
				t.Errorf("server saw %q, want %q", got, c.wantSeen)
			}
			if c.wantErr != "" {
				if res.Err == nil || !strings.Contains(res.Err.Error(), c.wantErr) || !strings.Contains(res.Err.Error(), sock) {
					t.Fatalf("err = %v, want %q naming the socket", res.Err, c.wantErr)
				}
				return
			}
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			tgtEqual(t, res.Samples, []string{`engine_daemon_container_states_containers{state="running"} 3 @1700000100000`})
			if !strings.HasPrefix(res.URL, "unix://"+sock) {
				t.Errorf("URL = %q", res.URL)
			}
		})
	}
}

func TestScrapeUnixSocketMissing(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "absent.sock")
	res := tgtNew(t, "unix://"+sock, nil).Scrape(context.Background(), tgtNow)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "no such file") {
		t.Fatalf("err = %v, want missing socket", res.Err)
	}
}
