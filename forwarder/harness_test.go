package forwarder

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks/stdout"
)

// Test kit for the tests that run the whole service (run_test.go,
// badinput_test.go, dedupe_run_test.go, reload_test.go): a goroutine-safe
// buffer behind each stdout sink, a forwarder running in the background with
// its logs observed, and polling helpers with generous deadlines.

// runWait is the generous deadline for anything a 1 s scrape interval makes happen.
const runWait = 20 * time.Second

// lineBuffer is an io.Writer safe for the sink's concurrent senders.
type lineBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lineBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lineBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// outLine is one decoded stdout-sink event.
type outLine struct {
	TimeMs int64             `json:"time_ms"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
	Value  any               `json:"value"` // float64, or "NaN" / "+Inf" / "-Inf"
	Kind   string            `json:"kind"`
}

// key identifies the line's series and point, for multiset comparisons.
func (l outLine) key() string {
	names := make([]string, 0, len(l.Labels))
	for k := range l.Labels {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%s{", l.Name)
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, l.Labels[k])
	}
	fmt.Fprintf(&b, "} %v %s @%d", l.Value, l.Kind, l.TimeMs)
	return b.String()
}

// lines decodes every complete line written so far; a line that is not
// valid JSON fails the test.
func (s *lineBuffer) lines(t testing.TB) []outLine {
	t.Helper()
	var out []outLine
	sc := bufio.NewScanner(strings.NewReader(s.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var l outLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("stdout sink wrote a line that is not JSON: %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

// linesOf returns the lines whose job label is job.
func (s *lineBuffer) linesOf(t testing.TB, job string) []outLine {
	t.Helper()
	var out []outLine
	for _, l := range s.lines(t) {
		if l.Labels["job"] == job {
			out = append(out, l)
		}
	}
	return out
}

// runningFwd is a forwarder whose Run goroutine the test owns.
type runningFwd struct {
	f      *Forwarder
	logs   *observer.ObservedLogs
	out    map[string]*lineBuffer // per stdout sink name
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// loadRunConfig loads yaml as a config file and points every stdout sink
// at its own buffer.
func loadRunConfig(t testing.TB, yaml string) (*config.Config, map[string]*lineBuffer) {
	t.Helper()
	cfg, err := config.Load("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("Load: %v\n%s", err, yaml)
	}
	out := map[string]*lineBuffer{}
	for _, sc := range cfg.Sinks {
		if c, ok := sc.Settings.(*stdout.Config); ok {
			b := &lineBuffer{}
			c.Writer = b
			out[sc.Name] = b
		}
	}
	return cfg, out
}

// runFwd loads yaml, starts Run in the background and waits until it is
// running. The test's cleanup stops it if the test did not.
func runFwd(t testing.TB, yaml string) *runningFwd {
	t.Helper()
	cfg, out := loadRunConfig(t, yaml)
	return runConfig(t, cfg, out)
}

// runConfig runs a loaded config; out are the buffers of its stdout sinks.
func runConfig(t testing.TB, cfg *config.Config, out map[string]*lineBuffer) *runningFwd {
	t.Helper()
	return runWith(t, cfg, out, Options{})
}

// runWith is runConfig with opts; their Logger and Version are the
// harness's (an observed logger, "test").
func runWith(t testing.TB, cfg *config.Config, out map[string]*lineBuffer, opts Options) *runningFwd {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	opts.Logger, opts.Version = zap.New(core), "test"
	f, err := New(cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningFwd{f: f, logs: logs, out: out, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() { r.done <- f.Run(ctx, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-r.done:
		cancel()
		t.Fatalf("Run returned before ready: %v", err)
	case <-time.After(runWait):
		cancel()
		t.Fatal("forwarder not ready in time")
	}
	t.Cleanup(func() { _ = r.stop(t) })
	return r
}

// stop cancels Run (what SIGTERM does in main) and waits for the shutdown
// to complete; it returns Run's error. Safe to call twice.
func (r *runningFwd) stop(t testing.TB) error {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case r.err = <-r.done:
		case <-time.After(60 * time.Second):
			r.err = fmt.Errorf("Run did not return within 60s of cancel")
		}
	})
	return r.err
}

// selfURL is the base URL of the self-metrics server.
func (r *runningFwd) selfURL(t testing.TB) string {
	t.Helper()
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if r.f.srv == nil {
		t.Fatal("self-metrics server not runningFwd")
	}
	return "http://" + r.f.srv.Addr()
}

// awaitCond polls cond every 20 ms until it holds or runWait passes.
func awaitCond(t testing.TB, what string, cond func() bool) {
	t.Helper()
	pollFor(t, runWait, what, cond)
}

// pollFor polls cond every 20 ms until it holds or timeout passes. Waiting
// with a generous deadline is not a timing assertion: only the outcome is
// checked.
func pollFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gatherValue reads one counter or gauge from reg; labels must match
// exactly. A series that does not exist reads as 0.
func gatherValue(t testing.TB, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !pairsEqual(m.GetLabel(), labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

func pairsEqual(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, lp := range got {
		if v, ok := want[lp.GetName()]; !ok || v != lp.GetValue() {
			return false
		}
	}
	return true
}

// getSelfMetrics fetches url (the self-metrics endpoint) and parses it with
// promfwd's own parser.
func getSelfMetrics(t testing.TB, url string) []scrape.Sample {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	samples, err := scrape.NewParser().Parse(scrape.FormatFromContentType(resp.Header.Get("Content-Type")), body, scrape.ParseOptions{})
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return samples
}

// find returns the value of the sample with that name and exactly those labels.
func findSample(samples []scrape.Sample, name string, labels map[string]string) (float64, bool) {
	for _, s := range samples {
		if s.Name != name || s.Labels.Len() != len(labels) {
			continue
		}
		match := true
		for _, l := range s.Labels.All() {
			if labels[l.Name] != l.Value {
				match = false
				break
			}
		}
		if match {
			return s.Value, true
		}
	}
	return 0, false
}

// entryText renders an observed entry with all its fields, to search for
// secrets.
func entryText(e observer.LoggedEntry) string {
	return fmt.Sprintf("%s %s %v", e.Level, e.Message, e.ContextMap())
}
