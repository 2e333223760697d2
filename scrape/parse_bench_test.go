package scrape

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const ptBenchSeries = 20000

func ptBenchParse(b *testing.B, f Format) {
	body := ptEncode(b, ptGenFamilies(ptBenchSeries, 1), f)
	p := NewParser()
	opt := ParseOptions{NowMs: 1_700_000_000_000, TargetLabels: Labels{{Name: "instance", Value: "target:9100"}, {Name: "job", Value: "bench"}}}
	first, err := p.Parse(f, body, opt) // warm the intern tables, as a steady source would
	if err != nil {
		b.Fatal(err)
	}
	n := len(first)
	ptLoop(b, n, body, func() error {
		_, err := p.Parse(f, body, opt)
		return err
	})
}

// ptLoop runs one parse per iteration and reports per-sample time and
// allocations (n samples per parse).
func ptLoop(b *testing.B, n int, body []byte, parse func() error) {
	b.Helper()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		if err := parse(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	ops := float64(b.N) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/ops, "ns/sample")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/ops, "allocs/sample")
	b.ReportMetric(float64(n), "samples/op")
}

func BenchmarkParseText(b *testing.B)        { ptBenchParse(b, FormatText) }
func BenchmarkParseOpenMetrics(b *testing.B) { ptBenchParse(b, FormatOpenMetrics) }
func BenchmarkParseProtobuf(b *testing.B)    { ptBenchParse(b, FormatProtobuf) }

func BenchmarkExpfmtTextParser(b *testing.B) {
	body := ptEncode(b, ptGenFamilies(ptBenchSeries, 1), FormatText)
	p := NewParser()
	first, err := p.Parse(FormatText, body, ParseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	n := len(first)
	ptLoop(b, n, body, func() error {
		tp := expfmt.NewTextParser(model.UTF8Validation)
		_, err := tp.TextToMetricFamilies(bytes.NewReader(body))
		return err
	})
}
