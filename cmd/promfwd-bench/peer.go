package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// vmagentPipeline is the name the summary gives the peer's runs.
const vmagentPipeline = "vmagent → remote_write"

// writeVmagentConfig writes a Prometheus-style scrape config for vmagent:
// the same targets, interval and timeout promfwd gets.
func writeVmagentConfig(path string, o options, urls []string) error {
	var b strings.Builder
	timeout := max(o.interval*8/10, 500*time.Millisecond)
	fmt.Fprintf(&b, "scrape_configs:\n  - job_name: bench\n    scrape_interval: %s\n    scrape_timeout: %s\n    metrics_path: /metrics\n    static_configs:\n      - targets:\n", o.interval, timeout)
	for _, u := range urls {
		pu, err := url.Parse(u)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "          - %s\n", pu.Host)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// runVmagent measures vmagent scraping the same targets and writing
// Prometheus remote-write to a fresh counting receiver, with its default
// on-disk queue under dir. Its figures come from /proc and the receiver,
// plus vmagent's own /metrics for scraped samples and errors.
func runVmagent(ctx context.Context, o options, dir string, urls []string, stderr io.Writer) (*result, error) {
	rcv := newReceiver("remote_write", "")
	rurl, rsrv, err := rcv.serve()
	if err != nil {
		return nil, err
	}
	defer rsrv.Close()
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "vmagent.yaml")
	if err := writeVmagentConfig(cfgPath, o, urls); err != nil {
		return nil, err
	}
	dataDir, err := os.MkdirTemp(dir, "vmagent-data-")
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "vmagent.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(o.vmagent,
		"-promscrape.config="+cfgPath,
		"-remoteWrite.url="+rurl+"/api/v1/write",
		"-remoteWrite.forcePromProto",
		"-remoteWrite.tmpDataPath="+dataDir,
		"-httpListenAddr="+listen,
		"-loggerLevel=ERROR")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), o.env...)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting vmagent (install: go install github.com/VictoriaMetrics/VictoriaMetrics/app/vmagent@v1.151.0): %w", err)
	}
	p := &forwarderProc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	defer p.stop()
	base := "http://" + listen
	if err := waitReady(ctx, "vmagent", base+"/health", p); err != nil {
		return nil, err
	}
	if err := sleepCtx(ctx, o.warmup); err != nil {
		return nil, err
	}
	m0, err := fetchSelfMetrics(ctx, base+"/metrics")
	if err != nil {
		return nil, err
	}
	pid := cmd.Process.Pid
	r0 := rcv.snapshot()
	cpu, rssSteady, elapsed, err := measureWindow(ctx, pid, o.duration)
	if err != nil {
		return nil, err
	}
	res := &result{sink: "remote_write", pipeline: vmagentPipeline, window: elapsed, cpu: cpu, rssSteady: rssSteady, recv: rcv.snapshot().sub(r0)}
	res.endMem(pid)
	m1, err := fetchSelfMetrics(ctx, base+"/metrics")
	if err != nil {
		return nil, err
	}
	d := func(name string, match ...string) float64 { return m1.sum(name, match...) - m0.sum(name, match...) }
	res.scraped = d("vm_promscrape_scraped_samples_sum")
	res.dropped = d("vmagent_remotewrite_samples_dropped_total") + d("vmagent_remotewrite_packets_dropped_total")
	res.failedReq = d("vmagent_remotewrite_requests_total", `!status_code="2`)
	res.retries = d("vmagent_remotewrite_retries_count_total")
	res.scrapeErrs = d("vm_promscrape_scrapes_failed_total")
	res.pending = m1.sum("vm_persistentqueue_bytes_pending")
	rcv.mu.Lock()
	res.dups, res.ooo = rcv.dups, rcv.outOfOrd
	rcv.mu.Unlock()
	if s, ok := rcv.lastErr.Load().(string); ok {
		res.lastErr = s
	}
	return res, nil
}

// findVmagent returns the vmagent binary: the flag, else PATH, else
// $(go env GOPATH)/bin.
func findVmagent(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p, err := exec.LookPath("vmagent"); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "vmagent")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("vmagent not found: go install github.com/VictoriaMetrics/VictoriaMetrics/app/vmagent@v1.151.0, or pass -vmagent")
}

// summarize prints one line per run and, per pipeline, the mean CPU per
// 1M delivered samples and steady RSS, with the ratio to the peer.
func summarize(w io.Writer, runs []*result) {
	fmt.Fprintf(w, "\n== summary (one run, same machine, pipelines alternating)\n")
	fmt.Fprintf(w, "  %-24s %5s %14s %14s %12s %12s\n", "pipeline", "round", "CPU ms per 1M", "RSS steady MiB", "RSS peak MiB", "delivered/s")
	type agg struct {
		cpuPerM, rss float64
		n            int
	}
	means := map[string]*agg{}
	var order []string
	for _, r := range runs {
		secs := r.window.Seconds()
		perM := 0.0
		if r.recv.Samples > 0 {
			perM = float64(r.cpu.Milliseconds()) / (float64(r.recv.Samples) / 1e6)
		}
		fmt.Fprintf(w, "  %-24s %5d %14.0f %14.1f %12.1f %12.0f\n", r.name(), r.round, perM, mib(r.rssSteady), mib(r.rssP), float64(r.recv.Samples)/secs)
		a := means[r.name()]
		if a == nil {
			a = &agg{}
			means[r.name()] = a
			order = append(order, r.name())
		}
		a.cpuPerM += perM
		a.rss += mib(r.rssSteady)
		a.n++
	}
	peer := means[vmagentPipeline]
	fmt.Fprintf(w, "  means:\n")
	for _, name := range order {
		a := means[name]
		cpu, rss := a.cpuPerM/float64(a.n), a.rss/float64(a.n)
		line := fmt.Sprintf("  %-24s CPU %6.0f ms per 1M, RSS %7.1f MiB", name, cpu, rss)
		if peer != nil && name != vmagentPipeline {
			line += fmt.Sprintf("   (x%.2f CPU, x%.2f RSS of vmagent)", cpu/(peer.cpuPerM/float64(peer.n)), rss/(peer.rss/float64(peer.n)))
		}
		fmt.Fprintln(w, line)
	}
}

// name is the pipeline label of a run.
func (r *result) name() string {
	if r.pipeline != "" {
		return r.pipeline
	}
	return "promfwd → " + r.sink
}
