package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a fake environment for Options.LookupEnv.
type env map[string]string

func (e env) lookup(k string) (string, bool) { v, ok := e[k]; return v, ok }

// listen binds a unix datagram socket playing systemd's part.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen %s: %v", name, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// recv returns the next datagram. The deadline only stops a broken test from
// hanging; a datagram that was sent is already queued.
func recv(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return string(buf[:n])
}

// pending drains the datagrams already queued, without waiting.
func pending(t *testing.T, conn *net.UnixConn) []string {
	t.Helper()
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var recvErr error
	buf := make([]byte, 4096)
	err = raw.Read(func(fd uintptr) bool {
		for {
			n, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			if err != nil {
				if !errors.Is(err, syscall.EAGAIN) {
					recvErr = err
				}
				return true
			}
			got = append(got, string(buf[:n]))
		}
	})
	if err != nil || recvErr != nil {
		t.Fatalf("drain: %v %v", err, recvErr)
	}
	return got
}

func socketPath(t *testing.T) string { return filepath.Join(t.TempDir(), "notify.sock") }

func abstractName(t *testing.T) string {
	return fmt.Sprintf("@promfwd-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
}

func newNotifier(t *testing.T, e env, opts Options) *Notifier {
	t.Helper()
	opts.LookupEnv = e.lookup
	n, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if n == nil {
		t.Fatal("New returned nil with NOTIFY_SOCKET set")
	}
	return n
}

func TestMessagesByteExact(t *testing.T) {
	sockets := map[string]func(*testing.T) string{"path": socketPath, "abstract": abstractName}
	cases := []struct {
		name string
		send func(*Notifier) error
		want string
	}{
		{"ready", func(n *Notifier) error { return n.Ready("") }, "READY=1"},
		{"ready with status", func(n *Notifier) error { return n.Ready("scraping 3 sources") }, "READY=1\nSTATUS=scraping 3 sources"},
		{"status", func(n *Notifier) error { return n.Status("queue 12 KiB") }, "STATUS=queue 12 KiB"},
		{"status newlines flattened", func(n *Notifier) error { return n.Status("a\nWATCHDOG=1\r\nb") }, "STATUS=a WATCHDOG=1 b"},
		{"stopping", func(n *Notifier) error { return n.Stopping() }, "STOPPING=1"},
		{"reloading", func(n *Notifier) error { return n.Reloading() }, "RELOADING=1\nMONOTONIC_USEC=12345678"},
	}
	for kind, mk := range sockets {
		t.Run(kind, func(t *testing.T) {
			name := mk(t)
			conn := listen(t, name)
			n := newNotifier(t, env{EnvNotifySocket: name}, Options{})
			n.monotonic = func() (time.Duration, bool) { return 12345678 * time.Microsecond, true }
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					if err := tc.send(n); err != nil {
						t.Fatalf("send: %v", err)
					}
					if got := recv(t, conn); got != tc.want {
						t.Errorf("datagram = %q, want %q", got, tc.want)
					}
				})
			}
		})
	}
}

func TestReloadingRealMonotonicClock(t *testing.T) {
	name := socketPath(t)
	conn := listen(t, name)
	n := newNotifier(t, env{EnvNotifySocket: name}, Options{})
	if err := n.Reloading(); err != nil {
		t.Fatal(err)
	}
	got := recv(t, conn)
	first, second, ok := strings.Cut(got, "\n")
	if !ok || first != "RELOADING=1" {
		t.Fatalf("datagram = %q", got)
	}
	usec, ok := strings.CutPrefix(second, "MONOTONIC_USEC=")
	if v, err := strconv.ParseInt(usec, 10, 64); !ok || err != nil || v <= 0 {
		t.Fatalf("MONOTONIC_USEC field = %q", second)
	}
}

func TestUnsetIsNoop(t *testing.T) {
	for _, e := range []env{{}, {EnvNotifySocket: ""}, {EnvWatchdogUsec: "30000000"}} {
		n, err := New(Options{LookupEnv: e.lookup})
		if err != nil || n != nil {
			t.Fatalf("New(%v) = %v, %v; want nil, nil", e, n, err)
		}
		for name, f := range map[string]func() error{
			"Ready": func() error { return n.Ready("x") }, "Reloading": n.Reloading,
			"Stopping": n.Stopping, "Status": func() error { return n.Status("x") },
		} {
			if err := f(); err != nil {
				t.Errorf("nil Notifier %s: %v", name, err)
			}
		}
		if d, ok := n.WatchdogInterval(); ok || d != 0 {
			t.Errorf("nil WatchdogInterval = %v, %v", d, ok)
		}
		n.RunWatchdog(t.Context(), func() bool { t.Error("alive called on nil Notifier"); return true })
	}
}

func TestFromEnv(t *testing.T) {
	t.Run("unset", func(t *testing.T) {
		t.Setenv(EnvNotifySocket, "")
		if n := FromEnv(zap.NewNop()); n != nil {
			t.Fatalf("FromEnv = %v, want nil", n)
		}
	})
	t.Run("set", func(t *testing.T) {
		name := socketPath(t)
		conn := listen(t, name)
		t.Setenv(EnvNotifySocket, name)
		n := FromEnv(nil)
		if err := n.Ready(""); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, conn); got != "READY=1" {
			t.Fatalf("datagram = %q", got)
		}
	})
	t.Run("invalid is logged", func(t *testing.T) {
		core, logs := observer.New(zap.WarnLevel)
		t.Setenv(EnvNotifySocket, "relative.sock")
		if n := FromEnv(zap.New(core)); n != nil {
			t.Fatalf("FromEnv = %v, want nil", n)
		}
		if logs.Len() != 1 || !strings.Contains(logs.All()[0].ContextMap()["error"].(string), "relative.sock") {
			t.Fatalf("logs = %+v", logs.All())
		}
	})
}

func TestNewRejectsUnsupportedSockets(t *testing.T) {
	for _, s := range []string{"relative/notify.sock", "vsock:2:1234", "@", "/" + strings.Repeat("x", maxSocketPathLen)} {
		t.Run(s[:min(len(s), 20)], func(t *testing.T) {
			n, err := New(Options{LookupEnv: env{EnvNotifySocket: s}.lookup})
			if !errors.Is(err, ErrUnsupportedSocket) || n != nil {
				t.Fatalf("New(%q) = %v, %v; want ErrUnsupportedSocket", s, n, err)
			}
		})
	}
}

func TestSendErrorNamesSocket(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone.sock")
	n := newNotifier(t, env{EnvNotifySocket: missing}, Options{})
	err := n.Ready("")
	if !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Ready error = %v; want ENOENT naming %s", err, missing)
	}
}
