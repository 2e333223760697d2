package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// daemonMetricsAddr is the daemon's metrics-addr as .ci/dockerd sets it.
const daemonMetricsAddr = "127.0.0.1:9323"

// TestHostScrapesDaemonMetricsAddr runs the release binary on the host, as
// deploy/systemd does, scraping the real daemon's metrics-addr into a HEC
// receiver, then stops it with SIGTERM.
func TestHostScrapesDaemonMetricsAddr(t *testing.T) {
	needDocker(t)
	a := artifacts(t)
	url := "http://" + daemonMetricsAddr + "/metrics"
	resp, err := http.Get(url)
	if err != nil {
		unavailable(t, "the Docker daemon does not serve metrics-addr "+daemonMetricsAddr+": "+err.Error())
	}
	resp.Body.Close()

	hec := hectest.New(t, hectest.Options{})
	dir := t.TempDir()
	cfg := fmt.Sprintf(`server: {listen: ""}
sources: [{name: docker, url: %s, interval: 1s}]
sinks: [{name: hec, type: hec, url: %s, token: %s, flush_interval: 200ms}]
`, url, hec.URL(), hec.Token())
	if err := os.WriteFile(filepath.Join(dir, "promfwd.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	c := exec.CommandContext(ctx, a.binary, "run", "-config", filepath.Join(dir, "promfwd.yaml"), "-log-format", "json")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	waitUntil(t, "the daemon's metrics from metrics-addr at the receiver", func() bool {
		times, _ := scrapeTimes(hec.Events())
		return len(times) >= 1
	})
	t.Logf("host promfwd: %d events from %s, %s among them", len(hec.Events()), url, daemonMetric)
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("promfwd exit: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("promfwd did not exit on SIGTERM")
	}
}
