package sinks

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/promfwd/promfwd/scrape"
)

type testRunner struct {
	*Runner
	reg   *prometheus.Registry
	clock *clockwork.FakeClock
	logs  *observer.ObservedLogs
}

// startRunner starts a runner named "t" over s with a fake clock; Stop runs
// at cleanup if the test did not call it.
func startRunner(t *testing.T, s Sink, cfg RunnerConfig) *testRunner {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	clock := clockwork.NewFakeClockAt(time.Unix(1_700_000_000, 0))
	cfg.Clock = clock
	r := NewRunner(s, cfg, m.Settings("t", zap.New(core), "promfwd/test"), m)
	r.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r.Stop(ctx)
	})
	return &testRunner{Runner: r, reg: reg, clock: clock, logs: logs}
}

func (tr *testRunner) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	return metricValue(t, tr.reg, name, append([]string{"sink", "t"}, labels...)...)
}

// waitTimers blocks until the fake clock has n waiters (a flush timer, a
// retry timer), so Advance cannot race the goroutine arming it.
func (tr *testRunner) waitTimers(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tr.clock.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("waiting for %d timers: %v", n, err)
	}
}

func TestRunnerFlushesOnSizeThenInterval(t *testing.T) {
	fs := newFakeSink()
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 10, FlushInterval: time.Minute})
	r.Submit(gauges("a", 25))
	got := waitDelivered(t, fs, 2)
	if got[0].Samples != 10 || got[1].Samples != 10 {
		t.Fatalf("size flush sent %d and %d samples, want 10 and 10", got[0].Samples, got[1].Samples)
	}
	r.waitTimers(t, 1)
	r.clock.Advance(time.Minute - time.Nanosecond)
	if p := r.Stats().PendingSamples; p != 5 {
		t.Fatalf("pending before the interval = %d, want 5", p)
	}
	r.clock.Advance(time.Nanosecond)
	if got := waitDelivered(t, fs, 1); got[0].Samples != 5 || string(got[0].Body) != "a20,a21,a22,a23,a24" {
		t.Fatalf("interval flush sent %q", got[0].Body)
	}
	if v := r.value(t, "promfwd_sink_samples_sent_total"); v != 25 {
		t.Errorf("samples_sent_total = %v, want 25", v)
	}
	if v := r.value(t, "promfwd_sink_requests_total", "outcome", "success"); v != 3 {
		t.Errorf("requests_total{success} = %v, want 3", v)
	}
	if st := r.Stats(); st.LastSuccess.Unix() != 1_700_000_060 || st.PendingSamples != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestRunnerConcatenatesSmallSubmits(t *testing.T) {
	fs := newFakeSink()
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 10, FlushInterval: time.Minute})
	r.Submit(gauges("a", 4))
	r.Submit(gauges("b", 4))
	r.Submit(gauges("c", 4))
	got := waitDelivered(t, fs, 1)
	if want := "a0,a1,a2,a3,b0,b1,b2,b3,c0,c1"; string(got[0].Body) != want {
		t.Fatalf("first request %q, want %q", got[0].Body, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if left := r.Stop(ctx); len(left) != 0 {
		t.Fatalf("Stop left %d requests", len(left))
	}
	if got := waitDelivered(t, fs, 1); string(got[0].Body) != "c2,c3" {
		t.Fatalf("Stop flushed %q, want c2,c3", got[0].Body)
	}
}

func TestRunnerNeverSplitsGroups(t *testing.T) {
	tests := []struct {
		name     string
		maxBatch int
		submits  [][]scrape.Sample
		want     []int // chunk lengths seen by Encode
	}{
		{"group per chunk", 7, [][]scrape.Sample{histograms(4)}, []int{5, 5, 5, 5}},
		{"two groups per chunk", 12, [][]scrape.Sample{histograms(4)}, []int{10, 10}},
		{"group larger than a batch", 3, [][]scrape.Sample{histograms(2)}, []int{5, 5}},
		{"concatenation stops before a group", 6,
			[][]scrape.Sample{gauges("g", 3), histograms(1), gauges("k", 2)}, []int{3, 6, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFakeSink()
			r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: tc.maxBatch, FlushInterval: time.Hour})
			for _, s := range tc.submits {
				r.Submit(s)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if left := r.Stop(ctx); len(left) != 0 {
				t.Fatalf("Stop left %d requests", len(left))
			}
			if got := fs.chunkLens(); !slices.Equal(got, tc.want) {
				t.Fatalf("chunks %v, want %v", got, tc.want)
			}
			for _, c := range fs.chunks {
				for i := 0; i < len(c); i = scrape.GroupEnd(c, i) {
					if c[i].Kind == scrape.KindHistogramBucket && scrape.GroupEnd(c, i)-i != 5 {
						t.Fatalf("histogram group split: %d samples in chunk", scrape.GroupEnd(c, i)-i)
					}
				}
			}
		})
	}
}

func TestRunnerSubmitNeverBlocksOnStuckSink(t *testing.T) {
	fs := newFakeSink()
	entered := make(chan struct{}, 1)
	fs.send = func(ctx context.Context, _ Request) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-ctx.Done() // stuck until the runner gives up
		return ctx.Err()
	}
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 100, MaxPendingSamples: 5000, MaxQueueBytes: 4096})
	const total = 1_000_000
	all := gauges("s", 1000)
	for i := range total {
		j := i % len(all)
		r.Submit(all[j : j+1 : j+1])
		if i == 200 {
			<-entered // the first request is now stuck in Send
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	left := r.Stop(ctx)
	leftSamples := 0
	for _, q := range left {
		leftSamples += q.Samples
	}
	intake := r.value(t, "promfwd_sink_dropped_samples_total", "reason", DropIntakeFull)
	queue := r.value(t, "promfwd_sink_dropped_samples_total", "reason", DropQueueFull)
	if intake+queue+float64(leftSamples) != total {
		t.Fatalf("intake_full %v + queue_full %v + leftovers %d != %d submitted", intake, queue, leftSamples, total)
	}
	if queue == 0 {
		t.Error("no queue_full drops although the queue bound is tiny")
	}
	if v := r.value(t, "promfwd_sink_samples_sent_total"); v != 0 {
		t.Errorf("sent %v samples through a stuck sink", v)
	}
	if len(r.logs.FilterMessage("dropping oldest samples: bound reached").All()) != 1 {
		t.Errorf("want exactly one rate-limited drop line, got %v", r.logs.All())
	}
}

func TestRunnerIntakeDropsOldestBatches(t *testing.T) {
	fs := newFakeSink()
	// Not started: nothing is encoded until Stop, so the intake bound decides.
	m := NewMetrics(prometheus.NewRegistry())
	r := NewRunner(fs, RunnerConfig{MaxPendingSamples: 10, Clock: clockwork.NewFakeClock()}, Settings{Name: "t"}, m)
	r.Submit(gauges("a", 4))
	r.Submit(gauges("b", 4))
	r.Submit(gauges("c", 4)) // a is dropped
	r.Submit(gauges("d", 11))
	r.Submit(gauges("e", 2))
	if p := r.Stats().PendingSamples; p != 10 {
		t.Fatalf("pending = %d, want 10", p)
	}
	left := r.Stop(context.Background())
	if len(left) != 1 || string(left[0].Body) != "b0,b1,b2,b3,c0,c1,c2,c3,e0,e1" {
		t.Fatalf("leftovers %q", bodies(left))
	}
	r.Submit(gauges("late", 3))
	got := map[string]float64{}
	c := m.counters("t")
	for name, ctr := range map[string]prometheus.Counter{DropIntakeFull: c.intakeFull, DropShutdown: c.shutdn} {
		got[name] = counterOf(t, ctr)
	}
	if got[DropIntakeFull] != 4+11 || got[DropShutdown] != 3 {
		t.Fatalf("dropped = %v, want intake_full 15, shutdown 3", got)
	}
}

func TestRunnerPermanentErrorDroppedNotRetried(t *testing.T) {
	fs := newFakeSink()
	fs.send = func(context.Context, Request) error {
		return &PermanentError{Status: 400, Reason: "invalid data format"}
	}
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 2})
	r.Submit(gauges("a", 2))
	r.Submit(gauges("b", 2))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if left := r.Stop(ctx); len(left) != 0 {
		t.Fatalf("rejected requests returned as leftovers: %q", bodies(left))
	}
	if n := fs.sendCount(); n != 2 {
		t.Fatalf("Send called %d times, want 2 (no retries)", n)
	}
	if v := r.value(t, "promfwd_sink_dropped_samples_total", "reason", DropRejected); v != 4 {
		t.Errorf("dropped{rejected} = %v, want 4", v)
	}
	if v := r.value(t, "promfwd_sink_requests_total", "outcome", OutcomePermanentError); v != 2 {
		t.Errorf("requests{permanent_error} = %v, want 2", v)
	}
	lines := r.logs.FilterMessage("destination rejected request, dropped").All()
	if len(lines) != 1 || lines[0].ContextMap()["error"] != "permanent failure (status 400): invalid data format" {
		t.Fatalf("rejection lines %v, want one with the receiver's reason", lines)
	}
	if summary := r.logs.FilterMessage("destination rejected requests (summary at stop)").All(); len(summary) != 1 ||
		summary[0].ContextMap()["suppressed"] != int64(1) {
		t.Fatalf("summary lines %v, want one with suppressed=1", summary)
	}
}

func TestRunnerRetriesTransientErrorInOrder(t *testing.T) {
	fs := newFakeSink()
	fails := 2
	failed := make(chan struct{}, fails)
	fs.send = func(context.Context, Request) error {
		if fails > 0 {
			fails--
			failed <- struct{}{}
			return errors.New("connection reset")
		}
		return nil
	}
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 1, RetryWaitMin: time.Second, RetryWaitMax: 4 * time.Second})
	r.Submit(gauges("a", 3))
	for range 2 {
		// After a failed send the batcher's flush timer is gone (it encoded
		// everything first), so the one timer waited for is the retry's.
		<-failed
		r.waitTimers(t, 1) // the retry timer
		if st := r.Stats(); st.InFlightRequests != 1 {
			t.Fatalf("in flight = %d during backoff, want 1", st.InFlightRequests)
		}
		r.clock.Advance(4 * time.Second)
	}
	got := waitDelivered(t, fs, 3)
	if b := bodies(got); b != "a0,a1,a2" {
		t.Fatalf("delivered %q, want a0,a1,a2 in order", b)
	}
	if v := r.value(t, "promfwd_sink_requests_total", "outcome", OutcomeFailed); v != 2 {
		t.Errorf("requests{failed} = %v, want 2", v)
	}
	if n := len(r.logs.FilterMessage("send failed, will retry").All()); n != 1 {
		t.Errorf("%d retry warnings within a minute, want 1", n)
	}
}

func TestRunnerStopKeepsFailingRequestsInOrder(t *testing.T) {
	fs := newFakeSink()
	failed := make(chan struct{}, 1)
	fs.send = func(context.Context, Request) error {
		select {
		case failed <- struct{}{}:
		default:
		}
		return errors.New("dial tcp: connection refused")
	}
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 1, FlushInterval: time.Hour})
	r.Submit(gauges("a", 3))
	<-failed
	r.waitTimers(t, 1) // the sender waits to retry a0
	left := r.Stop(context.Background())
	if b := bodies(left); b != "a0,a1,a2" {
		t.Fatalf("leftovers %q, want a0,a1,a2", b)
	}
	if n := fs.sendCount(); n != 1 {
		t.Fatalf("Send called %d times, want 1 (no retry once stopping)", n)
	}
}

func TestRunnerStopDeadlineCancelsInFlightSend(t *testing.T) {
	fs := newFakeSink()
	entered := make(chan struct{})
	fs.send = func(ctx context.Context, _ Request) error {
		close(entered)
		<-ctx.Done()
		return ctx.Err()
	}
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 2})
	r.Submit(gauges("a", 3))
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []Request)
	go func() { done <- r.Stop(ctx) }()
	cancel()
	if b := bodies(<-done); b != "a0,a1,a2" {
		t.Fatalf("leftovers %q, want the in-flight request then the queued one", b)
	}
}

func TestRunnerShardsToSendersInOrder(t *testing.T) {
	fs := newFakeSink()
	fs.perSample = true
	release := make(chan struct{})
	fs.send = func(_ context.Context, req Request) error {
		if req.Shard%3 == 0 {
			<-release // lane 0 is slow; lanes 1 and 2 must not wait for it
		}
		return nil
	}
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 30, Concurrency: 3})
	s := gauges("x", 30)
	for i := range s {
		s[i].Hash = uint64(i)
	}
	r.Submit(s)
	others := waitDelivered(t, fs, 20)
	close(release)
	lane0 := waitDelivered(t, fs, 10)
	last := map[uint32]int{}
	for _, q := range append(others, lane0...) {
		lane := q.Shard % 3
		if prev, ok := last[lane]; ok && int(q.Shard) < prev {
			t.Fatalf("lane %d: shard %d delivered after %d", lane, q.Shard, prev)
		}
		last[lane] = int(q.Shard)
	}
	for _, q := range others {
		if q.Shard%3 == 0 {
			t.Fatalf("lane 0 request %d delivered before its sender was released", q.Shard)
		}
	}
}

func TestRunnerEncodeOutcomesCounted(t *testing.T) {
	tests := []struct {
		name                 string
		encErr               error
		dropEach             int
		wantUnrepr, wantErrs float64
	}{
		{"encode error drops the batch", errors.New("bad label"), 0, 4, 1},
		{"unrepresentable samples", nil, 1, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFakeSink()
			fs.encErr, fs.dropEach = tc.encErr, tc.dropEach
			r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 4})
			r.Submit(gauges("a", 4))
			r.Stop(context.Background())
			if v := r.value(t, "promfwd_sink_dropped_samples_total", "reason", DropUnrepresentable); v != tc.wantUnrepr {
				t.Errorf("dropped{unrepresentable} = %v, want %v", v, tc.wantUnrepr)
			}
			if v := r.value(t, "promfwd_sink_encode_errors_total"); v != tc.wantErrs {
				t.Errorf("encode_errors_total = %v, want %v", v, tc.wantErrs)
			}
		})
	}
}
