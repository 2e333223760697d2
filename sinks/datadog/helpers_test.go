package datadog

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/datadog/ddtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testKey = "dd-secret-api-key-0123456789"

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// harness is a sink wired to a strict receiver, sharing a fake clock.
type harness struct {
	t       *testing.T
	clock   *clockwork.FakeClock
	rcv     *ddtest.Server
	sink    *Sink
	logs    *observer.ObservedLogs
	health  *sinks.Health
	retries int
}

func newHarness(t *testing.T, mut func(*Config), o options, rcvOpts ...func(*ddtest.Options)) *harness {
	t.Helper()
	h := &harness{t: t, clock: clockwork.NewFakeClockAt(t0)}
	ro := ddtest.Options{APIKey: testKey, Now: h.clock.Now}
	for _, f := range rcvOpts {
		f(&ro)
	}
	h.rcv = ddtest.NewServer(ro)
	t.Cleanup(h.rcv.Close)
	cfg := DefaultConfig()
	cfg.URL = h.rcv.URL()
	cfg.APIKey = testKey
	cfg.Host = "host-a"
	if mut != nil {
		mut(&cfg)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	h.logs = logs
	h.health = sinks.NewHealth(h.clock.Now)
	o.clock = h.clock
	if o.retryWaitMin == 0 {
		o.retryWaitMin, o.retryWaitMax = time.Millisecond, 2*time.Millisecond
	}
	s, err := newSink(cfg, sinks.Settings{
		Name: "dd", Logger: zap.New(core).With(zap.String("sink", "dd")), UserAgent: "promfwd/test",
		Health: h.health, OnRetry: func() { h.retries++ },
	}, o)
	if err != nil {
		t.Fatalf("newSink: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	h.sink = s
	return h
}

// push encodes samples and sends every request; it fails the test on error.
func (h *harness) push(samples []scrape.Sample) sinks.Encoded {
	h.t.Helper()
	enc, err := h.sink.Encode(samples)
	if err != nil {
		h.t.Fatalf("Encode: %v", err)
	}
	for i, r := range enc.Requests {
		if err := h.sink.Send(context.Background(), r); err != nil {
			h.t.Fatalf("Send request %d: %v", i, err)
		}
	}
	return enc
}

// points returns metric -> values received, in arrival order.
func (h *harness) values(metric string) []float64 {
	var out []float64
	for _, s := range h.rcv.Series() {
		if s.Metric == metric {
			for _, p := range s.Points {
				out = append(out, *p.Value)
			}
		}
	}
	return out
}

func (h *harness) findSeries(metric string, tags ...string) []ddtest.Series {
	var out []ddtest.Series
next:
	for _, s := range h.rcv.Series() {
		if s.Metric != metric {
			continue
		}
		for _, want := range tags {
			found := false
			for _, t := range s.Tags {
				found = found || t == want
			}
			if !found {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

func labels(kv ...string) scrape.Labels {
	ls := make(scrape.Labels, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, scrape.Label{Name: kv[i], Value: kv[i+1]})
	}
	return ls
}

func sample(name string, kind scrape.Kind, meta *scrape.Meta, ls scrape.Labels, v float64, ts time.Time) scrape.Sample {
	return scrape.Sample{Name: name, Kind: kind, Meta: meta, Labels: scrape.SetOf(ls), Value: v, TimestampMs: ts.UnixMilli(),
		Hash: scrape.SeriesHash(name, ls)}
}

var counterMeta = &scrape.Meta{Family: "requests", Type: scrape.TypeCounter}

func counter(v float64, ts time.Time) scrape.Sample {
	return sample("requests_total", scrape.KindCounter, counterMeta, labels("code", "200"), v, ts)
}

// histogram returns one histogram group: buckets le=0.1, 1, +Inf, then sum and count.
func histogram(meta *scrape.Meta, b01, b1, count, sum float64, ts time.Time) []scrape.Sample {
	ls := func(le string) scrape.Labels { return labels("le", le, "path", "/x") }
	return []scrape.Sample{
		sample("latency_seconds_bucket", scrape.KindHistogramBucket, meta, ls("0.1"), b01, ts),
		sample("latency_seconds_bucket", scrape.KindHistogramBucket, meta, ls("1"), b1, ts),
		sample("latency_seconds_bucket", scrape.KindHistogramBucket, meta, ls("+Inf"), count, ts),
		sample("latency_seconds_sum", scrape.KindHistogramSum, meta, labels("path", "/x"), sum, ts),
		sample("latency_seconds_count", scrape.KindHistogramCount, meta, labels("path", "/x"), count, ts),
	}
}

// statusCodes lists the statuses the receiver answered.
func (h *harness) statusCodes() []int {
	var out []int
	for _, r := range h.rcv.Requests() {
		out = append(out, r.Status)
	}
	return out
}
