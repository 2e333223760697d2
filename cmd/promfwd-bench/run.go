package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/promfwd/promfwd/forwarder"
	"github.com/promfwd/promfwd/forwarder/config"
)

func numCPU() int { return runtime.NumCPU() }

// buildPromfwd compiles ./cmd/promfwd (run from the module root) as the
// release does (deploy/release: static, CGO_ENABLED=0, -trimpath), so that
// RSS is measured on what ships: a cgo build maps libc and the dynamic
// loader too (~1.3 MiB more resident at idle).
func buildPromfwd(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	bin := filepath.Join(dir, "promfwd")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/promfwd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building promfwd (run from the module root or pass -promfwd): %w", err)
	}
	return bin, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func writeConfig(path, listen, sink, sinkURL string, o options, urls []string) error {
	var b strings.Builder
	timeout := max(o.interval*8/10, 500*time.Millisecond)
	fmt.Fprintf(&b, "server:\n  listen: %s\ndedupe:\n  enabled: %t\n  resend_after: 1m\nsources:\n", listen, !o.noDedupe)
	for i, u := range urls {
		if o.kubeAPI != "" {
			b.WriteString(kubeSource(o)) // kube.go: the same targets, discovered
			break
		}
		fmt.Fprintf(&b, "  - name: t%d\n    url: %s\n    interval: %s\n    timeout: %s\n%s", i, u, o.interval, timeout, relabelBlock(o.relabel))
	}
	fmt.Fprintf(&b, "sinks:\n  - name: bench\n    type: %s\n", sink)
	if o.conc > 0 {
		fmt.Fprintf(&b, "    concurrency: %d\n", o.conc)
	}
	if o.maxBatch > 0 {
		fmt.Fprintf(&b, "    max_batch_samples: %d\n", o.maxBatch)
	}
	if o.aggOn {
		b.WriteString(aggRuleSets[o.aggSet]) // aggregate.go
	}
	switch sink {
	case "hec":
		fmt.Fprintf(&b, "    url: %s\n    token: bench-token\n    gzip: true\n    multi_metric: %v\n    host: bench\n", sinkURL, o.hecMulti)
		if o.hecAck {
			fmt.Fprintf(&b, "    ack: {enabled: true}\n")
		}
	case "remote_write":
		fmt.Fprintf(&b, "    url: %s/api/v1/write\n", sinkURL)
	case "datadog":
		fmt.Fprintf(&b, "    url: %s\n    api_key: bench-key\n    host: bench\n", sinkURL)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// forwarderProc is the promfwd under test: a child process, or the
// forwarder in this process.
type forwarderProc struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan error
}

func (p *forwarderProc) pid() int {
	if p.cmd != nil {
		return p.cmd.Process.Pid
	}
	return os.Getpid()
}

func (p *forwarderProc) stop() {
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	} else {
		p.cancel()
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		if p.cmd != nil {
			_ = p.cmd.Process.Kill()
		}
	}
}

func startForwarder(ctx context.Context, o options, bin, cfgPath, logPath string) (*forwarderProc, error) {
	p := &forwarderProc{done: make(chan error, 1)}
	if o.inProcess {
		cfg, err := config.LoadFile(cfgPath)
		if err != nil {
			return nil, err
		}
		f, err := forwarder.New(cfg, forwarder.Options{Version: "bench"})
		if err != nil {
			return nil, err
		}
		var fctx context.Context
		fctx, p.cancel = context.WithCancel(ctx)
		go func() { p.done <- f.Run(fctx, nil) }()
		return p, nil
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, "run", "-config", cfgPath, "-log-level", "warn", "-log-format", "json")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.Env = append(os.Environ(), o.env...)
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting promfwd: %w", err)
	}
	go func() { p.done <- p.cmd.Wait(); logf.Close() }()
	return p, nil
}

// waitReady polls url until it answers 200, giving up when the process
// (named what in errors) exits, ctx ends, or 30 s pass.
func waitReady(ctx context.Context, what, url string, p *forwarderProc) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-p.done:
			return fmt.Errorf("%s exited before ready: %v", what, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready after 30s", what)
}

func runOne(ctx context.Context, o options, sink, bin, dir string, urls []string, stderr io.Writer) (*result, error) {
	rcv := newReceiver(sink, o.rwURL)
	rcv.latency = o.latency
	if sink == "hec" && o.hecAck {
		rcv.acks = newAckState(o.ackDelay)
	}
	rurl, rsrv, err := rcv.serve()
	if err != nil {
		return nil, err
	}
	defer rsrv.Close()
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, sink+".yaml")
	if err := writeConfig(cfgPath, listen, sink, rurl, o, urls); err != nil {
		return nil, err
	}
	p, err := startForwarder(ctx, o, bin, cfgPath, filepath.Join(dir, sink+".log"))
	if err != nil {
		return nil, err
	}
	defer p.stop()
	base := "http://" + listen
	if err := waitReady(ctx, "promfwd", base+"/readyz", p); err != nil {
		return nil, err
	}
	if err := sleepCtx(ctx, o.warmup); err != nil {
		return nil, err
	}
	m0, err := fetchSelfMetrics(ctx, base+"/metrics")
	if err != nil {
		return nil, err
	}
	var upstream0 selfMetrics
	if o.rwURL != "" {
		upstream0, _ = fetchSelfMetrics(ctx, upstreamMetricsURL(o.rwURL))
	}
	pid := p.pid()
	r0 := rcv.snapshot()
	var acked0, polls0, ids0 int64
	if rcv.acks != nil {
		rcv.acks.reset()
		acked0, polls0, ids0 = rcv.acks.acked.Load(), rcv.acks.polls.Load(), rcv.acks.idsPerPoll.Load()
	}
	var prof *os.File
	if o.cpuProfile != "" {
		if prof, err = os.Create(o.cpuProfile); err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(prof); err != nil {
			return nil, err
		}
	}
	cpu, rssSteady, elapsed, err := measureWindow(ctx, pid, o.duration)
	if err != nil {
		return nil, err
	}
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}
	if o.memProfile != "" {
		if err := writeHeapProfile(profilePath(o.memProfile, o)); err != nil {
			return nil, err
		}
	}
	res := &result{sink: sink, window: elapsed, cpu: cpu, rssSteady: rssSteady, recv: rcv.snapshot().sub(r0), inProcess: o.inProcess, aggOn: o.aggOn}
	res.endMem(pid)
	m1, err := fetchSelfMetrics(ctx, base+"/metrics")
	if err != nil {
		return nil, err
	}
	d := func(name string, match ...string) float64 { return m1.sum(name, match...) - m0.sum(name, match...) }
	res.scraped = d("promfwd_source_samples_scraped_total")
	res.dropped = d("promfwd_sink_dropped_samples_total")
	res.failedReq = d("promfwd_sink_requests_total", `!outcome="success"`)
	res.retries = d("promfwd_sink_retries_total")
	res.scrapeErrs = d("promfwd_source_scrape_errors_total")
	res.scrapes = d("promfwd_source_scrape_duration_seconds_count")
	res.scrapeSecs = d("promfwd_source_scrape_duration_seconds_sum")
	res.pending = m1.sum("promfwd_sink_pending_samples") + m1.sum("promfwd_sink_queue_requests")
	res.aggIn = d("promfwd_aggregate_input_samples_total")
	res.aggOut = m1.sum("promfwd_aggregate_output_series")
	res.aggDropped = d("promfwd_aggregate_samples_dropped_total")
	if a := rcv.acks; a != nil {
		res.ack = &ackResult{acked: a.acked.Load() - acked0, polls: a.polls.Load() - polls0,
			ids: a.idsPerPoll.Load() - ids0, maxOutstanding: a.max()}
	}
	rcv.mu.Lock()
	res.dups, res.ooo = rcv.dups, rcv.outOfOrd
	if len(rcv.fwdStatus) > 0 {
		res.fwdStatus = map[int]int64{}
		for k, v := range rcv.fwdStatus {
			res.fwdStatus[k] = v
		}
	}
	rcv.mu.Unlock()
	if s, ok := rcv.lastErr.Load().(string); ok {
		res.lastErr = s
	}
	if o.rwURL != "" {
		res.upstream = upstreamReport(ctx, o.rwURL, upstream0)
	}
	return res, nil
}

// measureWindow samples pid's RSS every second for d and returns the CPU it
// used, its average RSS and the exact length of the window.
func measureWindow(ctx context.Context, pid int, d time.Duration) (cpu time.Duration, rssSteady int64, elapsed time.Duration, err error) {
	cpu0, err := procCPU(pid)
	if err != nil {
		return 0, 0, 0, err
	}
	t0 := time.Now()
	var rssSum, rssN int64
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Since(t0) < d {
		select {
		case <-ctx.Done():
			return 0, 0, 0, ctx.Err()
		case <-tick.C:
		}
		if rss, _, err := procMem(pid); err == nil {
			rssSum += rss
			rssN++
		}
	}
	cpu1, err := procCPU(pid)
	if err != nil {
		return 0, 0, 0, err
	}
	if rssN > 0 {
		rssSteady = rssSum / rssN
	}
	return cpu1 - cpu0, rssSteady, time.Since(t0), nil
}

// endMem fills the peak and the anonymous/file split at the end of the window.
func (r *result) endMem(pid int) {
	_, r.rssP, _ = procMem(pid)
	if m, err := procStatus(pid, "RssAnon", "RssFile"); err == nil {
		r.rssAnon, r.rssFile = m["RssAnon"], m["RssFile"]
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func upstreamMetricsURL(rwURL string) string {
	base, _, _ := strings.Cut(rwURL, "/api/v1/write")
	return base + "/metrics"
}

// upstreamReport lists the real receiver's rejection counters that moved
// during the window, plus its write-handler answers by code.
func upstreamReport(ctx context.Context, rwURL string, before selfMetrics) []string {
	after, err := fetchSelfMetrics(ctx, upstreamMetricsURL(rwURL))
	if err != nil {
		return []string{"metrics unavailable: " + err.Error()}
	}
	var out []string
	for _, l := range after {
		name, _, _ := strings.Cut(l, "{")
		name, _, _ = strings.Cut(name, " ")
		interesting := strings.Contains(l, `handler="/api/v1/write"`) && name == "prometheus_http_requests_total" ||
			strings.Contains(name, "out_of_order") || strings.Contains(name, "out_of_bound") ||
			strings.Contains(name, "duplicate") || strings.Contains(name, "too_old") ||
			name == "prometheus_tsdb_head_samples_appended_total" || name == "prometheus_tsdb_head_series"
		if !interesting || strings.HasSuffix(name, "_bucket") {
			continue
		}
		series := l[:strings.LastIndexByte(l, ' ')]
		prev := ""
		for _, b := range before {
			if strings.HasPrefix(b, series+" ") {
				prev = " (before window: " + b[len(series)+1:] + ")"
			}
		}
		out = append(out, l+prev)
	}
	sort.Strings(out)
	return out
}

// writeHeapProfile writes a heap profile after a forced collection (the
// steady per-series state).
func writeHeapProfile(path string) error {
	runtime.GC()
	return writeProfileFile(path)
}

func writeProfileFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
