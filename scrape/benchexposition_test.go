package scrape

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// benchExposition renders the text exposition of the benchmark's target
// number id (cmd/promfwd-bench, target.go), its values aside: series
// samples, 60% counters and 30% gauges in families of 100, 10% histogram
// samples (10 buckets, _sum and _count) in families of 20 series, each
// series with instance and a per-series value ("series") and up to
// labels-2 more of 50 values each.
func benchExposition(id, series, labels int) []byte {
	r := rand.New(rand.NewPCG(uint64(id)+1, 42))
	nCounter := series * 60 / 100
	nGauge := series * 30 / 100
	nHist := (series - nCounter - nGauge) / 12
	nCounter = series - nGauge - nHist*12
	var b []byte
	lab := func(i int) []byte {
		minL := max(labels-3, 1)
		n := minL + r.IntN(labels-minL+1)
		x := fmt.Appendf(nil, `instance="bench-%d",series="%d"`, id, i)
		for j := 2; j < n; j++ {
			x = fmt.Appendf(x, `,l%d="value-%d-%d"`, j, j, r.IntN(50))
		}
		return x
	}
	family := func(name, typ string) {
		b = fmt.Appendf(b, "# HELP %s Synthetic %s for the benchmark.\n# TYPE %s %s\n", name, typ, name, typ)
	}
	for i := range nCounter {
		if i%100 == 0 {
			family(fmt.Sprintf("bench_requests_%d_total", i/100), "counter")
		}
		b = fmt.Appendf(b, "bench_requests_%d_total{%s} %d\n", i/100, lab(i), i)
	}
	for i := range nGauge {
		if i%100 == 0 {
			family(fmt.Sprintf("bench_temperature_%d", i/100), "gauge")
		}
		b = fmt.Appendf(b, "bench_temperature_%d{%s} %d\n", i/100, lab(i), i)
	}
	for i := range nHist {
		f := fmt.Sprintf("bench_latency_%d_seconds", i/20)
		if i%20 == 0 {
			family(f, "histogram")
		}
		ls := lab(i)
		for k := range 10 {
			le := "+Inf"
			if k < 9 {
				le = strconv.FormatFloat(0.005*float64(int(1)<<k), 'g', -1, 64)
			}
			b = fmt.Appendf(b, "%s_bucket{%s,le=%q} %d\n", f, ls, le, k)
		}
		b = fmt.Appendf(b, "%s_sum{%s} 1\n%s_count{%s} 2\n", f, ls, f, ls)
	}
	return b
}
