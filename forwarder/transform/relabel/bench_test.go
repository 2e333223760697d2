package relabel

import (
	"fmt"
	"testing"

	"github.com/promfwd/promfwd/scrape"
)

// benchRules are the five rules cmd/promfwd-bench pastes with -relabel 5.
const benchRulesYAML = `
- source_labels: [__name__]
  regex: debug_.*|go_gc_.*
  action: drop
- source_labels: [instance, series]
  target_label: __tmp_shard
  modulus: 8
  action: hashmod
- source_labels: [__tmp_shard]
  regex: "[0-7]"
  action: keep
- source_labels: [l2]
  target_label: label2
- regex: l2|__tmp_shard
  action: labeldrop
`

func benchBatch(n int) []scrape.Sample {
	out := make([]scrape.Sample, n)
	for i := range out {
		out[i] = smp(fmt.Sprintf("bench_requests_%d_total", i/100), float64(i),
			"instance", "bench-1", "l2", fmt.Sprint("value-", i%50), "series", fmt.Sprint(i))
	}
	return out
}

// BenchmarkStageSteady is the steady state: every series seen before, as
// the parser's line cache hands the same label slices back.
func BenchmarkStageSteady(b *testing.B) {
	for _, n := range []int{20000, 200000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var rules []*Config
			if err := unmarshalRules(benchRulesYAML, &rules); err != nil {
				b.Fatal(err)
			}
			st := NewStage(rules)
			batch := benchBatch(n)
			st.Relabel(batch)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			for range b.N {
				out, stats := st.Relabel(batch)
				if len(out) != n || stats.Invalid != 0 {
					b.Fatalf("%d out, %+v", len(out), stats)
				}
			}
			b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N*n), "cpu-ns/sample")
		})
	}
}

// BenchmarkStageCold computes every series (the first scrape).
func BenchmarkStageCold(b *testing.B) {
	var rules []*Config
	if err := unmarshalRules(benchRulesYAML, &rules); err != nil {
		b.Fatal(err)
	}
	batch := benchBatch(20000)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for range b.N {
		NewStage(rules).Relabel(batch)
	}
	b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N*len(batch)), "cpu-ns/sample")
}
