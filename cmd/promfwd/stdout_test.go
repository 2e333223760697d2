package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/promfwd/promfwd/forwarder"
)

// TestReloadKeepsStdoutSink: a SIGHUP reload of an unchanged config keeps
// the stdout sink that writes to run's stdout (its dedupe memory and queue)
// instead of rebuilding it because the reloaded config has no writer, and
// its events keep going to that writer.
func TestReloadKeepsStdoutSink(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "# TYPE reload_stdout gauge\nreload_stdout 1\n")
	}))
	defer target.Close()
	path := writeFile(t, t.TempDir(), "run.yaml", fmt.Sprintf(`
shutdown_timeout: 10s
server: {listen: ""}
sources:
  - {name: src, url: %s/metrics, interval: 1s}
sinks:
  - {name: out, type: stdout, flush_interval: 100ms}
`, target.URL))
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	var o syncBuffer // systemd_test.go
	out := &syncWriter{w: &o}
	useStdout(cfg, out)
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(core)
	f, err := forwarder.New(cfg, forwarder.Options{Logger: log, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- f.Run(ctx, func() { close(ready) }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-ready:
	case err := <-done:
		done <- err // for the deferred stop
		t.Fatalf("Run returned before ready: %v", err)
	case <-time.After(wait):
		t.Fatal("not ready in time")
	}
	waitUntil(t, "an event on run's stdout", func() bool { return strings.Contains(o.String(), `"reload_stdout"`) })

	if !reload(f, path, out, log) {
		t.Fatal("reload of an unchanged config failed")
	}
	entries := logs.FilterMessage("config reloaded").All()
	if len(entries) != 1 {
		t.Fatalf("%d 'config reloaded' lines, want 1", len(entries))
	}
	if n := entries[0].ContextMap()["new_sinks"]; n != int64(0) {
		t.Errorf("reload rebuilt %v sinks of an unchanged config, want 0", n)
	}
}
