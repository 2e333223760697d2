package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// envExecMain makes the test binary behave as the promfwd binary (see
// TestMain), so the service runs as a real child process that receives real
// signals, while still being built with the test's flags (-race).
const envExecMain = "PROMFWD_TEST_EXEC_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envExecMain) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// wait is the generous deadline for anything a 1 s interval makes happen.
const wait = 20 * time.Second

// child is promfwd running as a subprocess.
type child struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startChild runs `promfwd args...` with env added to a minimal environment.
// At cleanup a still-running child is killed.
func startChild(t *testing.T, env []string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append([]string{envExecMain + "=1", "PATH=" + os.Getenv("PATH"), "TMPDIR=" + os.TempDir()}, env...)
	c := &child{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = c.stdout, c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start promfwd: %v", err)
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
			t.Logf("promfwd stderr:\n%s", c.stderr.String())
		}
	})
	return c
}

func (c *child) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// exitCode waits for the child to exit.
func (c *child) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case err := <-c.done:
		c.done <- err // for cleanup
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		t.Fatalf("wait: %v", err)
	case <-time.After(wait):
		t.Fatal("promfwd did not exit")
	}
	return -1
}

// systemd plays systemd's side of the notify socket.
type systemd struct {
	conn *net.UnixConn
	path string
	seen []string
}

func newSystemd(t *testing.T) *systemd {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &systemd{conn: conn, path: path}
}

// until skips datagrams until one satisfies match and returns it; what
// names the awaited datagram in the failure.
func (s *systemd) until(t *testing.T, what string, match func(string) bool) string {
	t.Helper()
	if err := s.conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			t.Fatalf("no %s notification (seen so far: %q): %v", what, s.seen, err)
		}
		msg := string(buf[:n])
		s.seen = append(s.seen, msg)
		if match(msg) {
			return msg
		}
	}
}

func prefixed(p string) func(string) bool {
	return func(m string) bool { return strings.HasPrefix(m, p) }
}

// exposition serves a fixed exposition, counting scrapes.
func exposition(t *testing.T) (*httptest.Server, *counter) {
	t.Helper()
	var n counter
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.inc()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE app_up gauge\napp_up 1\n# TYPE app_requests_total counter\napp_requests_total %d\n", n.get())
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) inc() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestSystemdLifecycle runs promfwd as systemd would: Type=notify with a
// watchdog, the config named by $PROMFWD_CONFIG, the HEC token handed over
// through $CREDENTIALS_DIRECTORY, then `systemctl reload` (SIGHUP) and
// `systemctl stop` (SIGTERM).
func TestSystemdLifecycle(t *testing.T) {
	const token = "cred-7d1c0a51-hec-token"
	hec := hectest.New(t, hectest.Options{Token: token})
	target, scrapes := exposition(t)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, "hec_token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var cfgFile string
	writeConfig := func(interval string) {
		t.Helper()
		cfgFile = writeFile(t, dir, "promfwd.yaml", fmt.Sprintf(`
server:
  listen: 127.0.0.1:0
shutdown_timeout: 10s
sources:
  - name: app
    url: %s/metrics
    interval: %s
sinks:
  - name: splunk
    type: hec
    url: %s
    token_file: ${CREDENTIALS_DIRECTORY}/hec_token
    flush_interval: 100ms
`, target.URL, interval, hec.URL()))
	}
	writeConfig("1s")
	sd := newSystemd(t)
	c := startChild(t, []string{
		"NOTIFY_SOCKET=" + sd.path,
		"WATCHDOG_USEC=400000", // pings every 200ms while alive
		"CREDENTIALS_DIRECTORY=" + creds,
		envConfig + "=" + cfgFile,
	}, "run", "-status-interval", "100ms", "-log-format", "json")

	ready := sd.until(t, "READY", prefixed("READY=1"))
	if !strings.Contains(ready, "\nSTATUS=") || !strings.Contains(ready, "sink splunk:") {
		t.Errorf("READY datagram = %q, want READY=1 with a STATUS= naming the sink", ready)
	}
	for _, m := range sd.seen[:len(sd.seen)-1] {
		t.Errorf("datagram before READY=1: %q", m)
	}
	sd.until(t, "watchdog ping", func(m string) bool { return m == "WATCHDOG=1" })

	// The token from the credentials directory works: events arrive.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := hec.WaitFor(ctx, func(s hectest.Stats) bool { return s.Events > 0 }); err != nil {
		t.Fatalf("no events accepted by HEC (stats %+v): %v", hec.Stats(), err)
	}
	if s := hec.Stats(); s.Rejected != 0 {
		t.Errorf("HEC rejected %d requests: token from $CREDENTIALS_DIRECTORY not used?", s.Rejected)
	}
	// The periodic STATUS= line reports the last successful send.
	sd.until(t, "STATUS with a last send", func(m string) bool {
		return strings.HasPrefix(m, "STATUS=") && strings.Contains(m, "sink splunk:") && !strings.Contains(m, "last send never")
	})

	// systemctl reload: RELOADING=1 with MONOTONIC_USEC, then READY=1.
	writeConfig("2s")
	c.signal(t, syscall.SIGHUP)
	reloading := sd.until(t, "RELOADING", prefixed("RELOADING=1"))
	usec, ok := strings.CutPrefix(strings.TrimPrefix(reloading, "RELOADING=1\n"), "MONOTONIC_USEC=")
	if v, err := strconv.ParseInt(usec, 10, 64); !ok || err != nil || v <= 0 {
		t.Errorf("RELOADING datagram = %q, want MONOTONIC_USEC=<usec>", reloading)
	}
	after := sd.until(t, "READY after reload", prefixed("READY=1"))
	if strings.Contains(after, "reload failed") {
		t.Errorf("READY after reload = %q", after)
	}
	waitUntil(t, "a \"config reloaded\" log line", func() bool { return strings.Contains(c.stderr.String(), "config reloaded") })

	// A broken config on reload: READY=1 again, saying it kept the old one.
	writeFile(t, dir, "promfwd.yaml", "sources: [\n")
	c.signal(t, syscall.SIGHUP)
	sd.until(t, "RELOADING", prefixed("RELOADING=1"))
	if m := sd.until(t, "READY after bad reload", prefixed("READY=1")); !strings.Contains(m, "reload failed") {
		t.Errorf("READY after a rejected reload = %q, want a STATUS saying so", m)
	}
	before := scrapes.get()
	waitUntil(t, "scrapes continue after a rejected reload", func() bool { return scrapes.get() > before })

	// systemctl stop.
	c.signal(t, syscall.SIGTERM)
	sd.until(t, "STOPPING", func(m string) bool { return m == "STOPPING=1" })
	if code := c.exitCode(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
}

// TestNoNotifySocket: outside systemd nothing is sent and nothing fails.
func TestNoNotifySocket(t *testing.T) {
	target, scrapes := exposition(t)
	cfgFile := writeFile(t, t.TempDir(), "promfwd.yaml", fmt.Sprintf(
		"server: {listen: \"\"}\nsources: [{name: app, url: %s/metrics, interval: 1s}]\nsinks: [{name: out, type: stdout, flush_interval: 100ms}]\n", target.URL))
	c := startChild(t, nil, "run", "-config", cfgFile, "-log-format", "json")
	waitUntil(t, "a sample on stdout", func() bool { return strings.Contains(c.stdout.String(), "app_up") })
	c.signal(t, syscall.SIGTERM)
	if code := c.exitCode(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if scrapes.get() == 0 {
		t.Fatal("never scraped")
	}
	if strings.Contains(c.stderr.String(), "systemd") {
		t.Errorf("systemd mentioned without NOTIFY_SOCKET:\n%s", c.stderr.String())
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
