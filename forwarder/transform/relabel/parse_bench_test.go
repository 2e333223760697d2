package relabel

import (
	"fmt"
	"strings"
	"testing"

	"github.com/promfwd/promfwd/scrape"
)

// benchBody is a text exposition of n series shaped like promfwd-bench's
// targets (counters in families of 100, instance, series and l2..l5
// labels), with every value set to v.
func benchBody(n, v int) []byte {
	var b strings.Builder
	for i := range n {
		if i%100 == 0 {
			fmt.Fprintf(&b, "# HELP bench_requests_%d_total Synthetic.\n# TYPE bench_requests_%d_total counter\n", i/100, i/100)
		}
		fmt.Fprintf(&b, "bench_requests_%d_total{instance=\"bench-1\",series=\"%d\",l2=\"value-2-%d\",l3=\"value-3-%d\",l4=\"value-4-%d\"} %d\n",
			i/100, i, i%50, i%7, i%13, v+i)
	}
	return []byte(b.String())
}

// BenchmarkScrapeRelabel is a steady text target through the parser and
// the five rules of promfwd-bench -relabel 5: "none" without rules,
// "stage" parsing then relabeling the batch (the protobuf path, and every
// path before the parser took a rewriter), "parser" with the rules' verdict
// cached in the parser's line cache. Values change every scrape.
func BenchmarkScrapeRelabel(b *testing.B) {
	var rules []*Config
	if err := unmarshalRules(benchRulesYAML, &rules); err != nil {
		b.Fatal(err)
	}
	const n = 20000
	bodies := [2][]byte{benchBody(n, 1), benchBody(n, 2)}
	tl := scrape.Labels{{Name: "instance", Value: "bench-1"}, {Name: "job", Value: "bench"}}
	for _, mode := range []string{"none", "stage", "parser"} {
		b.Run(mode, func(b *testing.B) {
			p := scrape.NewParser()
			opt := scrape.ParseOptions{NowMs: 1, TargetLabels: tl}
			var st *Stage
			switch mode {
			case "stage":
				st = NewStage(rules)
			case "parser":
				opt.Rewriter = NewRewriter(rules)
			}
			run := func(i int) int {
				out, err := p.Parse(scrape.FormatText, bodies[i%2], opt)
				if err != nil {
					b.Fatal(err)
				}
				if st != nil {
					out, _ = st.Relabel(out)
				}
				return len(out)
			}
			run(1)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			for i := range b.N {
				if got := run(i); got != n {
					b.Fatalf("%d samples", got)
				}
			}
			b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N*n), "cpu-ns/sample")
		})
	}
}
