package forwarder

// Helpers for the end-to-end tests (e2e_*_test.go): a scrape target on
// 127.0.0.1 whose exposition depends on the scrape number, and a running
// Forwarder (New + Run, what `promfwd run` does) with its logs observed.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
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
)

// TestE2E runs every end-to-end scenario: the service (New + Run, what
// `promfwd run` does) scrapes real targets on 127.0.0.1 and delivers to the
// strict HEC and Datadog receivers and to a real Prometheus. The scenarios
// mostly wait for scrapes and retries, so they run side by side as
// concurrent (not t.Parallel) subtests: under go test's default -parallel
// (GOMAXPROCS, 2 on small machines) they would otherwise take turns, and
// the package's wall time would be their sum instead of the longest (the
// 30-second outage). Run one with -run 'TestE2E/hec_exact'.
func TestE2E(t *testing.T) {
	t.Parallel()
	scenarios := []struct {
		name string
		run  func(*testing.T)
	}{
		{"hec_exact", hecDeliversScrapedSamplesExactly},
		{"hec_invalid_data", hecInvalidDataDropsOneBatch},
		{"hec_token_rotation", hecHealthProbeAndTokenRotation},
		{"hec_ack_withheld", hecAckWithheldResends},
		{"datadog_deltas", ddCounterDeltasGaugesHistogram},
		{"datadog_rejected", ddRejectedBatchDropped},
		{"remote_write_prometheus", rwIntoPrometheus},
		{"remote_write_rejected", rwRejectedBatchDropped},
		{"outage_30s", outage30s},
	}
	var wg sync.WaitGroup
	for _, sc := range scenarios {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(sc.name, sc.run) // Run may be called from several goroutines
		}()
	}
	wg.Wait()
}

// e2eConfig is a service config with one source app (target, every
// second) and the sinks list sinks (YAML list items, last in the file so a
// caller can append sink keys); top is added to the top-level keys.
func e2eConfig(top, target, sinks string) string {
	return fmt.Sprintf(`shutdown_timeout: 20s
server: { listen: "" }
%ssources:
  - name: app
    url: %s
    target_series: false
    interval: 1s
    timeout: 1s
sinks:
%s`, top, target, sinks)
}

// e2eTarget is a Prometheus text endpoint; body(n) is the exposition of the
// n-th scrape (n from 1).
type e2eTarget struct {
	srv  *httptest.Server
	body func(n int) string

	mu    sync.Mutex
	times []time.Time // when each scrape arrived
}

func newE2ETarget(t *testing.T, body func(n int) string) *e2eTarget {
	t.Helper()
	tg := &e2eTarget{body: body}
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		tg.mu.Lock()
		tg.times = append(tg.times, time.Now())
		n := len(tg.times)
		tg.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = fmt.Fprint(w, tg.body(n))
	}))
	t.Cleanup(tg.srv.Close)
	return tg
}

// URL is the metrics URL for a source's `url`.
func (tg *e2eTarget) URL() string { return tg.srv.URL + "/metrics" }

// Scrapes is how many scrapes the target has answered.
func (tg *e2eTarget) Scrapes() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return len(tg.times)
}

// ScrapeTime is when scrape n (from 1) arrived.
func (tg *e2eTarget) ScrapeTime(n int) time.Time {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.times[n-1]
}

// e2eService is a Forwarder running as `promfwd run` runs it.
type e2eService struct {
	f       *Forwarder
	logs    *observer.ObservedLogs
	json    *lineBuffer // the logs as JSON lines
	started time.Time
	cancel  context.CancelFunc
	done    chan error
	once    sync.Once
}

// startE2E loads yaml (as a config file), builds the Forwarder and runs it
// until Stop or the end of the test. Logs go to an observer (Debug and up)
// and are printed if the test fails.
func startE2E(t *testing.T, yaml string) *e2eService {
	t.Helper()
	cfg, err := config.Load(t.Name()+".yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("load config: %v\n%s", err, yaml)
	}
	obs, logs := observer.New(zapcore.DebugLevel)
	// The same entries as production JSON lines, as an operator sees them.
	jsonLogs := &lineBuffer{}
	jsonCore := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(jsonLogs), zapcore.DebugLevel)
	f, err := New(cfg, Options{Logger: zap.New(zapcore.NewTee(obs, jsonCore)), Version: "e2e"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &e2eService{f: f, logs: logs, json: jsonLogs, cancel: cancel, done: make(chan error, 1), started: time.Now()}
	ready := make(chan struct{})
	go func() { s.done <- f.Run(ctx, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-s.done:
		cancel()
		t.Fatalf("Run returned before ready: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("service not ready after 10s")
	}
	t.Cleanup(func() {
		s.Stop(t)
		if t.Failed() {
			for _, e := range logs.All() {
				t.Logf("log: %s %s %v", e.Level, e.Message, e.ContextMap())
			}
		}
	})
	return s
}

// Stop shuts the service down (as SIGTERM does: stop scraping, drain the
// queues) and waits for Run to return.
func (s *e2eService) Stop(t *testing.T) {
	t.Helper()
	s.once.Do(func() {
		s.cancel()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("Run did not return within 60s of cancel")
		}
	})
}

// metric returns the value of the self-metric name whose labels include
// want (0 when absent).
func (s *e2eService) metric(t *testing.T, name string, want map[string]string) float64 {
	t.Helper()
	return includedValue(t, s.f.Registry(), name, want)
}

// includedValue reads the first counter or gauge of reg named name whose
// labels include want (gatherValue wants them exactly); absent reads as 0.
func includedValue(t testing.TB, reg prometheus.Gatherer, name string, want map[string]string) float64 {
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
			if e2eHasLabels(m, want) {
				switch {
				case m.GetCounter() != nil:
					return m.GetCounter().GetValue()
				case m.GetGauge() != nil:
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

func e2eHasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok && v == lp.GetValue() {
			n++
		}
	}
	return n == len(want)
}

// logsMatching returns the observed entries whose message contains msg.
func (s *e2eService) logsMatching(msg string) []observer.LoggedEntry {
	var out []observer.LoggedEntry
	for _, e := range s.logs.All() {
		if strings.Contains(e.Message, msg) {
			out = append(out, e)
		}
	}
	return out
}

// allLogText is every log line as JSON, for secret checks.
func (s *e2eService) allLogText() string { return s.json.String() }

// jsonLines returns the JSON log lines that contain msg.
func (s *e2eService) jsonLines(msg string) []string {
	var out []string
	for _, l := range strings.Split(s.json.String(), "\n") {
		if strings.Contains(l, msg) {
			out = append(out, l)
		}
	}
	return out
}

// e2eSeq summarises the sequence numbers a receiver got: each scrape n
// carries value n, so completeness is checkable.
type e2eSeq struct {
	max        int
	missing    []int // in 1..max, never received
	duplicates int   // receptions beyond the first
}

func e2eCheckSeq(values []float64) e2eSeq {
	seen := map[int]int{}
	var c e2eSeq
	for _, v := range values {
		n := int(v)
		seen[n]++
		c.max = max(c.max, n)
	}
	for n := 1; n <= c.max; n++ {
		switch k := seen[n]; {
		case k == 0:
			c.missing = append(c.missing, n)
		case k > 1:
			c.duplicates += k - 1
		}
	}
	return c
}

// e2eSeqBody is an exposition that encodes the scrape number n in a counter
// and a gauge (two samples per scrape).
func e2eSeqBody(n int) string {
	return fmt.Sprintf("# TYPE seq_total counter\nseq_total %d\n# TYPE seq_gauge gauge\nseq_gauge{kind=\"g\"} %d\n", n, n)
}
