package sdnotify

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestWatchdogInterval(t *testing.T) {
	const pid = 4242
	cases := []struct {
		name     string
		env      env
		want     time.Duration
		wantOK   bool
		wantWarn bool
	}{
		{name: "unset", env: env{}},
		{name: "usec only", env: env{EnvWatchdogUsec: "30000000"}, want: 30 * time.Second, wantOK: true},
		{name: "our pid", env: env{EnvWatchdogUsec: "20000000", EnvWatchdogPID: strconv.Itoa(pid)}, want: 20 * time.Second, wantOK: true},
		{name: "other pid", env: env{EnvWatchdogUsec: "20000000", EnvWatchdogPID: "1"}},
		{name: "zero", env: env{EnvWatchdogUsec: "0"}, wantWarn: true},
		{name: "not a number", env: env{EnvWatchdogUsec: "30s"}, wantWarn: true},
		{name: "negative", env: env{EnvWatchdogUsec: "-5"}, wantWarn: true},
		{name: "overflow", env: env{EnvWatchdogUsec: "18446744073709551615"}, wantWarn: true},
		{name: "bad pid", env: env{EnvWatchdogUsec: "20000000", EnvWatchdogPID: "abc"}, wantWarn: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zap.WarnLevel)
			tc.env[EnvNotifySocket] = "/run/systemd/notify"
			n := newNotifier(t, tc.env, Options{Getpid: func() int { return pid }, Logger: zap.New(core)})
			got, ok := n.WatchdogInterval()
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("WatchdogInterval = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
			if warned := logs.Len() > 0; warned != tc.wantWarn {
				t.Errorf("warned = %v, want %v (%+v)", warned, tc.wantWarn, logs.All())
			}
		})
	}
}

// watchdogRig runs RunWatchdog on a fake clock; each tick blocks in alive()
// until the test answers, which is what keeps the test free of sleeps.
type watchdogRig struct {
	t       *testing.T
	clock   *clockwork.FakeClock
	answers chan bool
	cancel  context.CancelFunc
	done    chan struct{}
	logs    *observer.ObservedLogs
	period  time.Duration
}

func startWatchdog(t *testing.T, socket string, interval time.Duration) *watchdogRig {
	t.Helper()
	clock := clockwork.NewFakeClock()
	core, logs := observer.New(zapcore.InfoLevel)
	n := newNotifier(t, env{EnvNotifySocket: socket, EnvWatchdogUsec: strconv.FormatInt(interval.Microseconds(), 10)},
		Options{Clock: clock, Logger: zap.New(core)})
	ctx, cancel := context.WithCancel(t.Context())
	r := &watchdogRig{t: t, clock: clock, answers: make(chan bool), cancel: cancel, done: make(chan struct{}), logs: logs, period: interval / 2}
	go func() {
		defer close(r.done)
		n.RunWatchdog(ctx, func() bool { return <-r.answers })
	}()
	t.Cleanup(r.stop)
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatalf("watchdog ticker never started: %v", err)
	}
	return r
}

// tick advances the clock by half the watchdog interval and answers alive().
func (r *watchdogRig) tick(alive bool) {
	r.clock.Advance(r.period)
	r.answers <- alive
}

func (r *watchdogRig) stop() {
	r.cancel()
	<-r.done
}

func TestRunWatchdogPingsOnlyWhileAlive(t *testing.T) {
	name := socketPath(t)
	conn := listen(t, name)
	r := startWatchdog(t, name, 30*time.Second)

	r.tick(true)
	if got := recv(t, conn); got != "WATCHDOG=1" {
		t.Fatalf("first ping = %q", got)
	}
	r.tick(true)
	if got := recv(t, conn); got != "WATCHDOG=1" {
		t.Fatalf("second ping = %q", got)
	}
	r.tick(false)
	r.tick(false)
	r.tick(true) // alive again: exactly one ping for this tick, none for the two before
	if got := recv(t, conn); got != "WATCHDOG=1" {
		t.Fatalf("ping after recovery = %q", got)
	}
	r.tick(false)
	r.stop()
	if extra := pending(t, conn); len(extra) != 0 {
		t.Fatalf("datagrams sent while not alive: %q", extra)
	}
	var msgs []string
	for _, e := range r.logs.All() {
		msgs = append(msgs, e.Level.String()+": "+e.Message)
	}
	want := []string{
		"warn: withholding systemd watchdog ping: forwarder not alive",
		"info: forwarder alive again; resuming systemd watchdog pings",
		"warn: withholding systemd watchdog ping: forwarder not alive",
	}
	if len(msgs) != len(want) {
		t.Fatalf("logs = %q, want %q", msgs, want)
	}
	for i := range want {
		if msgs[i] != want[i] {
			t.Errorf("log %d = %q, want %q", i, msgs[i], want[i])
		}
	}
}

func TestRunWatchdogAbstractSocket(t *testing.T) {
	name := abstractName(t)
	conn := listen(t, name)
	r := startWatchdog(t, name, 2*time.Second)
	r.tick(true)
	if got := recv(t, conn); got != "WATCHDOG=1" {
		t.Fatalf("ping = %q", got)
	}
}

func TestRunWatchdogLogsSendFailureOnce(t *testing.T) {
	name := socketPath(t) // nobody listens: every ping fails
	r := startWatchdog(t, name, 10*time.Second)
	r.tick(true)
	r.tick(true)
	r.tick(true)
	r.stop()
	failures := r.logs.FilterMessage("systemd watchdog ping failed").Len()
	if failures != 1 {
		t.Fatalf("ping failures logged %d times, want 1 (%+v)", failures, r.logs.All())
	}
}

func TestRunWatchdogDisabledReturns(t *testing.T) {
	n := newNotifier(t, env{EnvNotifySocket: socketPath(t)}, Options{Clock: clockwork.NewFakeClock()})
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.RunWatchdog(context.Background(), func() bool { t.Error("alive called without watchdog"); return true })
	}()
	<-done
}
