package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/configs"
	"github.com/promfwd/promfwd/forwarder"
	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/forwarder/sdnotify"
	"github.com/promfwd/promfwd/sinks/stdout"
)

// envConfig names the config file when -config is not given (the systemd
// unit and the Docker plugin's config.json may set it).
const envConfig = "PROMFWD_CONFIG"

// defaultStatusInterval is how often the systemd STATUS= line is refreshed.
const defaultStatusInterval = 10 * time.Second

// serve runs the service until SIGINT/SIGTERM; SIGHUP re-reads the config.
// Under systemd it reports READY=1 once the config is loaded and the
// listeners are bound, RELOADING=1 ... READY=1 around a reload, STOPPING=1
// when shutdown begins, a STATUS= line with each sink's backlog, and pings
// the watchdog only while the scheduler's heartbeat is fresh. out is where
// stdout sinks write, in cfg and in every config a reload reads.
func serve(cfg *config.Config, file string, opts forwarder.Options, statusEvery time.Duration, out io.Writer) int {
	log := opts.Logger
	shown := file
	if file == "" {
		shown = configs.QuickstartName + " (no -config given: self-metrics to stdout)"
	}
	log.Info("promfwd starting", zap.String("version", opts.Version), zap.String("go_version", runtime.Version()),
		zap.String("config", shown))
	n := sdnotify.FromEnv(log)
	wd, watchdog := n.WatchdogInterval()
	if watchdog {
		// Ping every wd/2 (RunWatchdog) only if the scheduler ran its
		// heartbeat job within the last wd/2; it runs every wd/4.
		opts.Heartbeat = max(wd/4, time.Millisecond)
	}
	f, err := forwarder.New(cfg, opts)
	if err != nil {
		log.Error("start failed", zap.Error(err))
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var wg sync.WaitGroup
	defer wg.Wait()
	ready := func() {
		notify(log, "READY", n.Ready(statusLine(f, "")))
		wg.Add(2)
		go func() {
			defer wg.Done()
			n.RunWatchdog(ctx, func() bool { return f.Alive(wd / 2) })
		}()
		go func() {
			defer wg.Done()
			signals(ctx, f, file, out, n, hup, statusEvery, log)
		}()
		dropStartupPages(log, "start") // startpages.go
	}
	if err := f.Run(ctx, ready); err != nil {
		log.Error("promfwd stopped", zap.Error(err))
		return 1
	}
	return 0
}

// signals handles SIGHUP and the STATUS= refresh until ctx ends, then sends
// STOPPING=1 while the forwarder flushes its queues.
func signals(ctx context.Context, f *forwarder.Forwarder, file string, out io.Writer, n *sdnotify.Notifier,
	hup <-chan os.Signal, statusEvery time.Duration, log *zap.Logger) {
	var status <-chan time.Time // nil outside systemd: nobody reads STATUS=
	if n != nil {
		tick := time.NewTicker(statusEvery)
		defer tick.Stop()
		status = tick.C
	}
	for {
		select {
		case <-ctx.Done():
			log.Info("shutdown requested: flushing sink queues")
			notify(log, "STOPPING", n.Stopping())
			return
		case <-hup:
			notify(log, "RELOADING", n.Reloading())
			note := ""
			if !reload(f, file, out, log) {
				note = "reload failed, running the previous config (see log)"
			}
			dropStartupPages(log, "reload")
			notify(log, "READY", n.Ready(statusLine(f, note)))
		case <-status:
			notify(log, "STATUS", n.Status(statusLine(f, "")))
		}
	}
}

// reload re-reads the config file and applies it; false if it was rejected.
func reload(f *forwarder.Forwarder, file string, out io.Writer, log *zap.Logger) bool {
	cfg, err := loadConfig(file)
	if err != nil {
		f.ReloadRejected()
		log.Error("reload: config rejected, keeping the running one", zap.Error(err))
		f.ReportReload(err) // shown on the status overview page
		return false
	}
	useStdout(cfg, out) // the same writer as before, so unchanged sinks compare equal
	if err := f.Reload(cfg); err != nil {
		log.Error("reload failed, keeping the running config", zap.Error(err))
		return false
	}
	return true
}

func notify(log *zap.Logger, what string, err error) {
	if err != nil {
		log.Warn("systemd notification failed", zap.String("message", what), zap.Error(err))
	}
}

// statusLine is what `systemctl status` shows: targets scraped, then per
// sink the samples waiting (queued or being encoded) and the time of the
// last successful send.
func statusLine(f *forwarder.Forwarder, note string) string {
	var b strings.Builder
	if note != "" {
		b.WriteString(note)
		b.WriteString("; ")
	}
	fmt.Fprintf(&b, "%d targets", len(f.Targets()))
	for _, s := range f.SinkStatus() {
		last := "never"
		if !s.LastSuccess.IsZero() {
			last = s.LastSuccess.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "; sink %s: %d samples queued (%d bytes), last send %s",
			s.Name, s.QueuedSamples+s.PendingSamples, s.QueuedBytes, last)
	}
	return b.String()
}

// useStdout points every stdout sink of cfg that has no writer of its own at
// out (run's stdout argument), instead of os.Stdout.
func useStdout(cfg *config.Config, out io.Writer) {
	for _, sc := range cfg.Sinks {
		if c, ok := sc.Settings.(*stdout.Config); ok && c.Writer == nil {
			c.Writer = out
		}
	}
}

// syncWriter serialises writes to run's stdout: after a reload that changes
// a stdout sink, the retired sink may still be draining while the new one
// writes, and the caller's writer need not be safe for concurrent use.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
