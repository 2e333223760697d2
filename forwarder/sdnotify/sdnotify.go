// Package sdnotify owns promfwd's side of the systemd service notification
// protocol (sd_notify(3)): READY, RELOADING, STOPPING and STATUS messages and
// the WATCHDOG keep-alive, sent as datagrams to the unix socket named by
// $NOTIFY_SOCKET. It is written against the protocol, not libsystemd, so the
// binary stays static. Outside systemd (no NOTIFY_SOCKET) every method is a
// no-op on the nil *Notifier that FromEnv returns.
package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
)

// Environment variables systemd sets for a Type=notify service.
const (
	EnvNotifySocket  = "NOTIFY_SOCKET"
	EnvWatchdogUsec  = "WATCHDOG_USEC"
	EnvWatchdogPID   = "WATCHDOG_PID"
	maxSocketPathLen = 107 // sizeof(sun_path) - 1 on Linux
)

// ErrUnsupportedSocket is returned by New for NOTIFY_SOCKET values that are
// neither an absolute path nor an abstract "@name" (for example "vsock:...").
var ErrUnsupportedSocket = errors.New("sdnotify: unsupported NOTIFY_SOCKET")

// Options are New's dependencies; zero values mean the real process
// environment, PID, clock and a no-op logger.
type Options struct {
	// LookupEnv reads the environment (default os.LookupEnv).
	LookupEnv func(key string) (string, bool)
	// Getpid returns this process' PID, compared with WATCHDOG_PID
	// (default os.Getpid).
	Getpid func() int
	// Clock drives RunWatchdog's ticker (default the real clock).
	Clock clockwork.Clock
	// Logger receives the rare events worth a human's time: a watchdog
	// setting that is ignored, pings withheld or failing.
	Logger *zap.Logger
}

// Notifier sends notifications to systemd. A nil *Notifier is valid and does
// nothing, so callers never need to check whether they run under systemd.
// It is immutable after New and safe for concurrent use.
type Notifier struct {
	addr      *net.UnixAddr
	watchdog  time.Duration // 0: no watchdog requested for this process
	clock     clockwork.Clock
	monotonic func() (time.Duration, bool)
	log       *zap.Logger
}

// FromEnv returns a Notifier for the socket in $NOTIFY_SOCKET, or nil when the
// variable is unset or unusable (the latter is logged once as a warning:
// under Type=notify systemd will then time out waiting for READY=1).
func FromEnv(log *zap.Logger) *Notifier {
	n, err := New(Options{Logger: log})
	if err != nil {
		if log != nil {
			log.Warn("systemd notifications disabled", zap.Error(err))
		}
		return nil
	}
	return n
}

// New reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID through o.LookupEnv.
// It returns (nil, nil) when NOTIFY_SOCKET is unset or empty. A malformed
// watchdog setting only disables the watchdog (logged), as sd_watchdog_enabled
// would.
func New(o Options) (*Notifier, error) {
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.Getpid == nil {
		o.Getpid = os.Getpid
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	socket, _ := o.LookupEnv(EnvNotifySocket)
	if socket == "" {
		return nil, nil
	}
	addr, err := socketAddr(socket)
	if err != nil {
		return nil, err
	}
	n := &Notifier{addr: addr, clock: o.Clock, monotonic: monotonic, log: o.Logger}
	n.watchdog = watchdogFromEnv(o.LookupEnv, o.Getpid, o.Logger)
	return n, nil
}

// socketAddr validates NOTIFY_SOCKET as systemd does: an absolute path or an
// abstract name written with a leading '@' (Go's net package maps '@' to the
// leading NUL byte of a Linux abstract address).
func socketAddr(s string) (*net.UnixAddr, error) {
	switch {
	case len(s) > maxSocketPathLen:
		return nil, fmt.Errorf("%w: %d bytes is longer than a unix socket address", ErrUnsupportedSocket, len(s))
	case strings.HasPrefix(s, "/"), strings.HasPrefix(s, "@") && len(s) > 1:
		return &net.UnixAddr{Name: s, Net: "unixgram"}, nil
	default:
		return nil, fmt.Errorf("%w: %q is neither an absolute path nor an @abstract name", ErrUnsupportedSocket, s)
	}
}

func watchdogFromEnv(lookup func(string) (string, bool), getpid func() int, log *zap.Logger) time.Duration {
	usec, ok := lookup(EnvWatchdogUsec)
	if !ok || usec == "" {
		return 0
	}
	u, err := strconv.ParseUint(usec, 10, 64)
	if err != nil || u == 0 || u > uint64(time.Duration(1<<63-1)/time.Microsecond) {
		log.Warn("ignoring invalid "+EnvWatchdogUsec, zap.String("value", usec))
		return 0
	}
	if pid, ok := lookup(EnvWatchdogPID); ok && pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil || p <= 0 {
			log.Warn("ignoring invalid "+EnvWatchdogPID, zap.String("value", pid))
			return 0
		}
		if p != getpid() {
			// The watchdog belongs to another process (we were started by
			// the service's main process, or inherited its environment).
			return 0
		}
	}
	return time.Duration(u) * time.Microsecond
}

// Ready tells systemd that start-up (or a reload) is complete. A non-empty
// status is sent in the same datagram as STATUS=.
func (n *Notifier) Ready(status string) error {
	if status == "" {
		return n.send("READY=1")
	}
	return n.send("READY=1\nSTATUS=" + oneLine(status))
}

// Reloading tells systemd that a configuration reload has begun; call Ready
// when it is done. MONOTONIC_USEC (CLOCK_MONOTONIC) is included, as
// Type=notify-reload on systemd >= 253 requires.
func (n *Notifier) Reloading() error {
	if n == nil {
		return nil
	}
	msg := "RELOADING=1"
	if now, ok := n.monotonic(); ok {
		msg += "\nMONOTONIC_USEC=" + strconv.FormatInt(now.Microseconds(), 10)
	}
	return n.send(msg)
}

// Stopping tells systemd that shutdown has begun (queues are being flushed).
func (n *Notifier) Stopping() error { return n.send("STOPPING=1") }

// Status sets the free-form status line `systemctl status` shows. Newlines
// would start a new protocol field, so they are replaced by spaces.
func (n *Notifier) Status(s string) error { return n.send("STATUS=" + oneLine(s)) }

func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// send writes one datagram on a fresh socket, as sd_notify does: nothing is
// held open between messages, so a restarted systemd (new socket inode) is
// picked up transparently.
func (n *Notifier) send(msg string) error {
	if n == nil {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sdnotify: connect %s: %w", n.addr.Name, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(msg)); err != nil {
		return fmt.Errorf("sdnotify: send to %s: %w", n.addr.Name, err)
	}
	return nil
}
