package hec

import (
	"runtime"
	"testing"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/sinks"
)

// BenchmarkEncode* encode a 20k-sample container-exporter batch (see
// genSamples) and report per-sample cost and output size.
func BenchmarkEncodeSingleGzip(b *testing.B)  { benchEncode(b, false, true) }
func BenchmarkEncodeSinglePlain(b *testing.B) { benchEncode(b, false, false) }
func BenchmarkEncodeMultiGzip(b *testing.B)   { benchEncode(b, true, true) }
func BenchmarkEncodeMultiPlain(b *testing.B)  { benchEncode(b, true, false) }

func benchEncode(b *testing.B, multi, gz bool) {
	const n = 20000
	samples := genSamples(n)
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
		}
		iters++
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	per := float64(iters) * n
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/sample")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/per, "allocs/sample")
	b.ReportMetric(float64(bytesOut)/n, "bytes/sample")
}
