package forwarder

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.uber.org/zap/zaptest/observer"

	"github.com/promfwd/promfwd/forwarder/config"
)

// Test kit for shard_test.go, filesd_test.go and plugin_test.go.

// fleet is one HTTP server standing in for many targets: every path is a
// target. It records which replica (X-Replica header, set per source in
// the test configs) scraped which path.
type fleet struct {
	srv *httptest.Server
	mu  sync.Mutex
	hit map[string]map[string]int // path -> replica -> scrapes
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	fl := &fleet{hit: map[string]map[string]int{}}
	fl.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fl.mu.Lock()
		if fl.hit[r.URL.Path] == nil {
			fl.hit[r.URL.Path] = map[string]int{}
		}
		fl.hit[r.URL.Path][r.Header.Get("X-Replica")]++
		fl.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE fleet_up gauge\nfleet_up{path=%q} 1\n", r.URL.Path)
	}))
	t.Cleanup(fl.srv.Close)
	return fl
}

// host is the fleet's host:port, as a file_sd target.
func (fl *fleet) host() string { return fl.srv.Listener.Addr().String() }

// scrapes returns path -> replica -> count.
func (fl *fleet) scrapes() map[string]map[string]int {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	out := make(map[string]map[string]int, len(fl.hit))
	for p, m := range fl.hit {
		out[p] = map[string]int{}
		for r, n := range m {
			out[p][r] = n
		}
	}
	return out
}

// scraped reports whether path was scraped at least once.
func (fl *fleet) scraped(path string) bool {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return len(fl.hit[path]) > 0
}

// count is how often path has been scraped.
func (fl *fleet) count(path string) int {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	n := 0
	for _, c := range fl.hit[path] {
		n += c
	}
	return n
}

// running is a Forwarder running in the background until stop or cleanup.
type running struct {
	f    *Forwarder
	logs *observer.ObservedLogs
	stop func()
}

// runFleetConfig loads yamlText (named file, for relative file_sd paths) with a
// fixed host name and runs it.
func runFleetConfig(t *testing.T, file, yamlText, hostname string, opts Options) *running {
	t.Helper()
	cfg, err := loadWith(file, []byte(yamlText), testEnv(nil), func() (string, error) { return hostname, nil })
	if err != nil {
		t.Fatalf("load: %v\n%s", err, yamlText)
	}
	return runFleet(t, cfg, opts)
}

// runFleet runs cfg (see runWith); stop reports Run's error, and a failed
// test prints the service's logs.
func runFleet(t *testing.T, cfg *config.Config, opts Options) *running {
	t.Helper()
	rf := runWith(t, cfg, nil, opts)
	r := &running{f: rf.f, logs: rf.logs, stop: func() {
		if err := rf.stop(t); err != nil {
			t.Errorf("Run: %v", err)
		}
	}}
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			for _, e := range r.logs.All() {
				t.Logf("log: %s %s %v", e.Level, e.Message, e.ContextMap())
			}
		}
	})
	return r
}
