package hec

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testTS = 1700000000123

func lbls(kv ...string) scrape.Labels {
	var ls scrape.Labels
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, scrape.Label{Name: kv[i], Value: kv[i+1]})
	}
	slices.SortFunc(ls, func(a, b scrape.Label) int { return strings.Compare(a.Name, b.Name) })
	return ls
}

// fixtureSamples is a small exposition: counters and gauges sharing labels,
// a histogram, a summary, awkward label names and values, and values HEC
// cannot carry (NaN, ±Inf, a stale marker).
func fixtureSamples() []scrape.Sample {
	hist := &scrape.Meta{Family: "req_seconds", Type: scrape.TypeHistogram}
	summ := &scrape.Meta{Family: "gc_seconds", Type: scrape.TypeSummary}
	ctr := &scrape.Meta{Family: "ops", Type: scrape.TypeCounter}
	gauge := &scrape.Meta{Family: "temp", Type: scrape.TypeGauge}
	job := lbls("job", "docker", "instance", "a:9323")
	s := []scrape.Sample{
		{Name: "ops_total", Labels: scrape.SetOf(job), Value: 12, Kind: scrape.KindCounter, Meta: ctr},
		{Name: "temp", Labels: scrape.SetOf(job), Value: -3.5e-9, Kind: scrape.KindGauge, Meta: gauge},
		{Name: "temp_nan", Labels: scrape.SetOf(job), Value: math.NaN(), Kind: scrape.KindGauge, Meta: gauge},
		{Name: "temp_inf", Labels: scrape.SetOf(job), Value: math.Inf(1), Kind: scrape.KindGauge, Meta: gauge},
		{Name: "temp_stale", Labels: scrape.SetOf(job), Value: math.Float64frombits(scrape.StaleNaN), Kind: scrape.KindGauge, Meta: gauge},
		{Name: "odd", Labels: scrape.SetOf(lbls("_private", "x", "metric_name", "m", "host", "h2", "label_host", "taken", "quote", "say \"hi\"\n\t\x01", "bad_utf8", "a\xffb", "uni", "häß✓")), Value: 1e21, Kind: scrape.KindUntyped},
	}
	for _, le := range []string{"0.1", "1", "+Inf"} {
		s = append(s, scrape.Sample{Name: "req_seconds_bucket", Labels: scrape.SetOf(lbls("job", "docker", "le", le)), Value: 3, Kind: scrape.KindHistogramBucket, Meta: hist})
	}
	s = append(s,
		scrape.Sample{Name: "req_seconds_sum", Labels: scrape.SetOf(lbls("job", "docker")), Value: 0.75, Kind: scrape.KindHistogramSum, Meta: hist},
		scrape.Sample{Name: "req_seconds_count", Labels: scrape.SetOf(lbls("job", "docker")), Value: 3, Kind: scrape.KindHistogramCount, Meta: hist},
		scrape.Sample{Name: "gc_seconds", Labels: scrape.SetOf(lbls("quantile", "0.5")), Value: 0.001, Kind: scrape.KindSummaryQuantile, Meta: summ},
		scrape.Sample{Name: "gc_seconds_sum", Value: 2, Kind: scrape.KindSummarySum, Meta: summ},
		scrape.Sample{Name: "gc_seconds_count", Value: 7, Kind: scrape.KindSummaryCount, Meta: summ},
		scrape.Sample{Name: "up", Value: 1, Kind: scrape.KindGauge, Meta: gauge},
	)
	for i := range s {
		s[i].TimestampMs = testTS
		s[i].Hash = scrape.SeriesHash(s[i].Name, s[i].Labels.Labels())
	}
	return s
}

// genSamples builds n samples shaped like a container exporter: many
// families over the same label sets, every tenth family a histogram.
func genSamples(n int) []scrape.Sample {
	out := make([]scrape.Sample, 0, n)
	les := []string{"0.005", "0.05", "0.5", "5", "+Inf"}
	for f := 0; len(out) < n; f++ {
		name := fmt.Sprintf("container_metric_%d", f)
		if f%10 == 9 {
			meta := &scrape.Meta{Family: name, Type: scrape.TypeHistogram}
			for c := 0; c < 20 && len(out) < n; c++ {
				base := []string{"container", fmt.Sprintf("c%03d", c), "image", "docker.io/library/nginx:1.27", "job", "docker"}
				for i, le := range les {
					out = append(out, scrape.Sample{Name: name + "_bucket", Labels: scrape.SetOf(lbls(append(base, "le", le)...)), Value: float64(i * c), Kind: scrape.KindHistogramBucket, Meta: meta, TimestampMs: testTS})
				}
				out = append(out,
					scrape.Sample{Name: name + "_sum", Labels: scrape.SetOf(lbls(base...)), Value: 1.25 * float64(c), Kind: scrape.KindHistogramSum, Meta: meta, TimestampMs: testTS},
					scrape.Sample{Name: name + "_count", Labels: scrape.SetOf(lbls(base...)), Value: float64(4 * c), Kind: scrape.KindHistogramCount, Meta: meta, TimestampMs: testTS})
			}
			continue
		}
		meta := &scrape.Meta{Family: name, Type: scrape.TypeGauge}
		for c := 0; c < 20 && len(out) < n; c++ {
			out = append(out, scrape.Sample{
				Name: name, Labels: scrape.SetOf(lbls("container", fmt.Sprintf("c%03d", c), "image", "docker.io/library/nginx:1.27", "job", "docker")),
				Value: float64(f*1000+c) / 7, Kind: scrape.KindGauge, Meta: meta, TimestampMs: testTS,
			})
		}
	}
	return out[:n]
}

// expectedPoints is what a receiver must decode for samples sent by a sink
// with cfg: one point per representable sample, labels renamed per RenamePrefix.
func expectedPoints(cfg Config, samples []scrape.Sample) []hectest.Point {
	var out []hectest.Point
	for _, s := range samples {
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			continue
		}
		dims := map[string]string{}
		for i := range s.Labels.All() {
			dims[dimName(s.Labels.Labels(), i)] = strings.ToValidUTF8(s.Labels.At(i).Value, "\uFFFD")
		}
		out = append(out, hectest.Point{Name: metricName(s.Name), Value: s.Value, TimeMs: s.TimestampMs, Dimensions: dims,
			Host: cfg.Host, Source: cfg.Source, SourceType: cfg.SourceType, Index: cfg.Index})
	}
	sortPoints(out)
	return out
}

func sortPoints(ps []hectest.Point) {
	key := func(p hectest.Point) string {
		keys := make([]string, 0, len(p.Dimensions))
		for k, v := range p.Dimensions {
			keys = append(keys, k+"="+v)
		}
		slices.Sort(keys)
		return fmt.Sprintf("%s|%d|%s", p.Name, p.TimeMs, strings.Join(keys, ","))
	}
	slices.SortFunc(ps, func(a, b hectest.Point) int { return cmp.Compare(key(a), key(b)) })
}

func testConfig(url string) Config {
	c := DefaultConfig()
	c.URL = url
	c.Token = hectest.DefaultToken
	c.Host = "promfwd-test"
	c.Source = "promfwd"
	c.SourceType = "prometheus"
	c.Index = "metrics"
	return c
}

// newTestSink builds a sink with instant retries and an observed logger.
func newTestSink(t *testing.T, cfg Config, opts ...Option) (*Sink, *observer.ObservedLogs, *sinks.Health) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	health := sinks.NewHealth(nil)
	opts = append([]Option{withTune(func(o *sinks.ClientOptions) { o.RetryWaitMin, o.RetryWaitMax = time.Millisecond, 2*time.Millisecond })}, opts...)
	s, err := New(cfg, sinks.Settings{Name: "hec", Logger: zap.New(core).With(zap.String("sink", "hec")), UserAgent: "promfwd/test", Health: health}, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, logs, health
}

// sendAll encodes samples and sends every request.
func sendAll(t *testing.T, s *Sink, samples []scrape.Sample) sinks.Encoded {
	t.Helper()
	enc, err := s.Encode(samples)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	for i, r := range enc.Requests {
		if err := s.Send(context.Background(), r); err != nil {
			t.Fatalf("Send request %d: %v", i, err)
		}
	}
	return enc
}

// dimName is the dimension name the encoder gives labels[i].
func dimName(ls scrape.Labels, i int) string {
	var d dimNamer
	b := d.appendDims(nil, scrape.SetOf(ls))
	// Decode the pairs back: `,"name":"value"` for each label.
	var names []string
	dec := json.NewDecoder(bytes.NewReader(append(append([]byte("{"), b[1:]...), '}')))
	tok, _ := dec.Token() // {
	_ = tok
	for dec.More() {
		k, _ := dec.Token()
		_, _ = dec.Token()
		names = append(names, k.(string))
	}
	return names[i]
}
