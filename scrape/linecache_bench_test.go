package scrape

import (
	"testing"
)

// BenchmarkParseTextCold parses with a fresh parser every time, so every
// line takes the full normalize path (label parsing, interning, sorting,
// target-label merge, limits, series hash). BenchmarkParseText is the
// steady state a source sees from its second scrape on (line cache hits).
func BenchmarkParseTextCold(b *testing.B) {
	body := ptEncode(b, ptGenFamilies(ptBenchSeries, 1), FormatText)
	opt := ParseOptions{NowMs: 1_700_000_000_000, TargetLabels: Labels{{Name: "instance", Value: "target:9100"}, {Name: "job", Value: "bench"}}}
	first, err := NewParser().Parse(FormatText, body, opt)
	if err != nil {
		b.Fatal(err)
	}
	ptLoop(b, len(first), body, func() error {
		_, err := NewParser().Parse(FormatText, body, opt)
		return err
	})
}

// BenchmarkSeriesHash is the per-sample identity hash (dedupe, sharding).
func BenchmarkSeriesHash(b *testing.B) {
	ls := Labels{{Name: "code", Value: "200"}, {Name: "handler", Value: "/api/v1/query"}, {Name: "instance", Value: "10.0.0.1:9100"}, {Name: "job", Value: "node"}, {Name: "method", Value: "GET"}}
	b.ReportAllocs()
	var h uint64
	for b.Loop() {
		h ^= SeriesHash("http_requests_total", ls)
	}
	if h == 1 {
		b.Log(h) // keep h live
	}
}
