package hec

import (
	"runtime"
	"testing"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/sinktest"
)

// BenchmarkEncode* encode a 20k-sample container-exporter batch (see
// genSamples) and report per-sample cost and output size, as built by hand
// (plain label sets) and as the parser delivers it (src=parsed: compact
// sets of a symbol table, the production case).
func BenchmarkEncodeSingleGzip(b *testing.B)  { benchSources(b, false, true) }
func BenchmarkEncodeSinglePlain(b *testing.B) { benchSources(b, false, false) }
func BenchmarkEncodeMultiGzip(b *testing.B)   { benchSources(b, true, true) }
func BenchmarkEncodeMultiPlain(b *testing.B)  { benchSources(b, true, false) }

func benchSources(b *testing.B, multi, gz bool) {
	const n = 20000
	built := genSamples(n)
	parsed := sinktest.Reparse(b, built, scrape.Labels{{Name: "instance", Value: "127.0.0.1:9100"}, {Name: "job", Value: "bench"}})
	b.Run("src=built", func(b *testing.B) { benchEncode(b, built, multi, gz) })
	b.Run("src=parsed", func(b *testing.B) { benchEncode(b, parsed, multi, gz) })
}

func benchEncode(b *testing.B, samples []scrape.Sample, multi, gz bool) {
	n := len(samples)
	cfg := testConfig("http://127.0.0.1:1")
	cfg.MultiMetric, cfg.Gzip = multi, gz
	s, err := New(cfg, sinks.Settings{Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var bytesOut, iters int
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		enc, err := s.Encode(samples)
		if err != nil {
			b.Fatal(err)
		}
		bytesOut = 0
		for _, r := range enc.Requests {
			bytesOut += len(r.Body)
			s.Recycle(r.Body) // as the Runner does once a request is delivered
		}
		iters++
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	per := float64(iters) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/sample")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/per, "allocs/sample")
	b.ReportMetric(float64(bytesOut)/float64(n), "bytes/sample")
}
