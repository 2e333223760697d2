package aggregate

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// benchInput is n counter series of 10 families, labels instance (20
// values), pod (n/20 values) and code (5 values).
func benchInput(n int, ts int64) []scrape.Sample {
	out := make([]scrape.Sample, n)
	for i := range out {
		ls := scrape.Labels{{Name: "code", Value: fmt.Sprint(200 + i%5)}, {Name: "instance", Value: fmt.Sprintf("host-%d", i%20)},
			{Name: "pod", Value: fmt.Sprintf("pod-%d", i/20)}}
		name := fmt.Sprintf("req_%d_total", i%10)
		out[i] = scrape.Sample{Name: name, Labels: scrape.SetOf(ls), Value: float64(i), TimestampMs: ts, Kind: scrape.KindCounter, Hash: scrape.SeriesHash(name, ls)}
	}
	return out
}

var benchRule = Rule{Match: `{__name__=~"req_.*"}`, Interval: time.Minute, Without: []string{"instance", "pod"},
	Outputs: []string{"total", "increase", "rate_sum", "max", "count_series"}}

// BenchmarkApply: one scrape of 200k matched series through one rule; the
// metric ns/sample is the cost per input sample.
func BenchmarkApply(b *testing.B) {
	const n = 200_000
	a, _ := New([]Rule{benchRule}, Options{})
	base := int64(1_800_000_000_000)
	in := benchInput(n, base)
	a.Apply(in, base) // create the series
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ts := base + int64(i+1)*5000
		for j := range in {
			in[j].TimestampMs = ts
			in[j].Value++
		}
		a.Apply(in, ts)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
}

// BenchmarkMemoryPerSeries reports the heap the aggregation state holds per
// input series (bytes/series) once 200k series are in an open window.
func BenchmarkMemoryPerSeries(b *testing.B) {
	b.Run("counter", func(b *testing.B) {
		benchMemory(b, Rule{Match: `{__name__=~"req_.*"}`, Interval: time.Minute, Without: []string{"instance", "pod"}, Outputs: []string{"total", "increase"}})
	})
	b.Run("gauge", func(b *testing.B) {
		benchMemory(b, Rule{Match: `{__name__=~"req_.*"}`, Interval: time.Minute, Without: []string{"instance", "pod"}, Outputs: []string{"max", "avg", "count_series"}})
	})
	b.Run("with_rate_sum", func(b *testing.B) { benchMemory(b, benchRule) })
}

func benchMemory(b *testing.B, rule Rule) {
	const n = 200_000
	base := int64(1_800_000_000_000)
	in := benchInput(n, base)
	for range b.N {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		a, _ := New([]Rule{rule}, Options{})
		a.Apply(in, base)
		a.Apply(in, base+5000)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/n, "bytes/series")
		runtime.KeepAlive(a)
	}
}
