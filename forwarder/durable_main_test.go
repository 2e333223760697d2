package forwarder

// Helpers for the durable-delivery tests: the test binary re-executed as a
// promfwd-like child process (so it can be SIGKILLed), a target that serves
// a sequence, and a gate in front of a receiver that can be down or slow.

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/forwarder/state"
	"github.com/promfwd/promfwd/sinks/diskqueue"
)

// envDurableChild, when set to a config path, makes the test binary run
// the service on that config (a cmd/promfwd-like main) instead of tests.
const envDurableChild = "PROMFWD_TEST_DURABLE_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(envDurableChild); path != "" {
		os.Exit(durableChildMain(path))
	}
	os.Exit(m.Run())
}

// durableChildMain is `promfwd run -config path` with JSON logs on stderr.
func durableChildMain(path string) int {
	cfg, err := config.LoadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.Lock(os.Stderr), zap.InfoLevel))
	f, err := New(cfg, Options{Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := f.Run(ctx, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// durChild is the service running as a child process.
type durChild struct {
	cmd    *exec.Cmd
	stderr *lineBuffer
	done   chan error
}

func startDurChild(t *testing.T, cfgPath string) *durChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{envDurableChild + "=" + cfgPath, "PATH=" + os.Getenv("PATH"), "TMPDIR=" + os.TempDir()}
	c := &durChild{cmd: cmd, stderr: &lineBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = c.stderr, c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("child %d output:\n%s", cmd.Process.Pid, c.stderr.String())
		}
	})
	return c
}

// stop sends sig and waits for the process to end.
func (c *durChild) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
	select {
	case <-c.done:
		c.done <- nil // for the cleanup
	case <-time.After(runWait):
		t.Fatalf("child did not exit after %v", sig)
	}
}

// rssKiB is the child's resident set size.
func (c *durChild) rssKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("read status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib int
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kib); err != nil || kib <= 0 {
				t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return kib
		}
	}
	t.Fatal("no VmRSS line in /proc/<pid>/status")
	return 0
}

// seqTarget serves one counter, seq_total, whose value is the number of
// scrapes served since the start (so every value identifies one scrape),
// plus width gauges g{i} with the same value. Frozen, it serves the last
// value again (dedupe then skips it).
type seqTarget struct {
	srv   *httptest.Server
	width int

	mu     sync.Mutex
	n      int
	frozen bool
	again  int // scrapes served while frozen
}

func newSeqTarget(t *testing.T, width int) *seqTarget {
	s := &seqTarget{width: width}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		if s.frozen {
			s.again++
		} else {
			s.n++
		}
		n := s.n
		s.mu.Unlock()
		var b strings.Builder
		fmt.Fprintf(&b, "# TYPE seq_total counter\nseq_total %d\n", n)
		if s.width > 0 {
			b.WriteString("# TYPE g gauge\n")
			for i := range s.width {
				fmt.Fprintf(&b, "g{i=\"%d\"} %d\n", i, n)
			}
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(b.String()))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// freeze stops the sequence and returns its last value.
func (s *seqTarget) freeze(on bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frozen, s.again = on, 0
	return s.n
}

func (s *seqTarget) servedAgain() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.again
}

// gate fronts a receiver: down answers 503, delay slows every request.
type gate struct {
	srv   *httptest.Server
	down  atomic.Bool
	delay atomic.Int64
}

func newGate(t *testing.T, backend string) *gate {
	u, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ErrorLog = log.New(io.Discard, "", 0) // a killed client is expected
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.down.Load() {
			http.Error(w, "receiver down", http.StatusServiceUnavailable)
			return
		}
		if d := g.delay.Load(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// queuedSamples is what the sink's disk queue holds and has committed
// (covered by the saved checkpoint): samples and requests.
func queuedSamples(t *testing.T, dataDir, sink string) (samples, requests, maxPerRequest int) {
	t.Helper()
	st, ok := state.Load(filepath.Join(dataDir, sink, state.FileName), zap.NewNop())
	if !ok {
		return 0, 0, 0
	}
	stored, err := diskqueue.Inspect(filepath.Join(dataDir, sink, "queue"), nil)
	if err != nil {
		t.Fatalf("inspect queue: %v", err)
	}
	for _, s := range stored {
		if s.Seq <= st.Seq {
			samples += s.Samples
			requests++
			maxPerRequest = max(maxPerRequest, s.Samples)
		}
	}
	return samples, requests, maxPerRequest
}

func writeConfig(t *testing.T, dir, yaml string) string {
	t.Helper()
	path := filepath.Join(dir, "promfwd.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
