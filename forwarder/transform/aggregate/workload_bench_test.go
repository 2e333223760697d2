package aggregate

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// benchRules are promfwd-bench's -aggregate rules (cmd/promfwd-bench
// aggregate.go, -agg-rules mixed); few groups the near-unique rule by l2.
func benchRules(few bool) []Rule {
	r := func(match string, by []string, outs ...string) Rule {
		return Rule{Match: match, Interval: 10 * time.Second, By: by, Outputs: outs}
	}
	l2 := []string{"l2"}
	near := r(`{__name__=~"bench_requests_[0-9]*[89]_total"}`, nil, "total")
	near.Without = []string{"instance", "series"}
	if few {
		near.By, near.Without = l2, nil
	}
	q := r(`{__name__=~"bench_temperature_.*", l3=~"value-3-[0-4]"}`, []string{"l3"}, "quantiles(0.5, 0.99)")
	q.KeepInput = true
	return []Rule{
		r(`{__name__=~"bench_requests_[0-9]*[01]_total"}`, l2, "total", "increase"),
		r(`{__name__=~"bench_requests_[0-9]*[23]_total"}`, l2, "total", "increase"),
		r(`{__name__=~"bench_requests_[0-9]*[45]_total"}`, l2, "total"),
		r(`{__name__=~"bench_requests_[0-9]*[67]_total"}`, l2, "increase", "rate_sum"),
		near,
		r(`{__name__=~"bench_temperature_[0-9]*[0-4]"}`, l2, "max", "avg"),
		r(`{__name__=~"bench_temperature_[0-9]*[5-9]"}`, l2, "min", "last", "count_series"),
		r(`{__name__=~"bench_latency_.*_bucket"}`, l2, "increase"),
		r(`{__name__=~"bench_latency_.*_(sum|count)"}`, l2, "total"),
		q,
	}
}

// benchExposition is one target's exposition shaped as promfwd-bench's
// (cmd/promfwd-bench target.go: 60% counters, 30% gauges, histograms with
// 10 buckets; labels instance, series and up to 4 of l2..l5 with 50 values
// each), every value moved by step.
func benchExposition(id, series, step int) string {
	r := rand.New(rand.NewPCG(uint64(id)+1, 42))
	var b strings.Builder
	labels := func(i int) string {
		s := fmt.Sprintf(`instance="bench-%d",series="%d"`, id, i)
		n := 3 + r.IntN(4)
		for j := 2; j < n; j++ {
			s += fmt.Sprintf(`,l%d="value-%d-%d"`, j, j, r.IntN(50))
		}
		return s
	}
	nCounter, nGauge := series*60/100, series*30/100
	nHist := (series - nCounter - nGauge) / 12
	nCounter = series - nGauge - nHist*12
	for i := range nCounter {
		fmt.Fprintf(&b, "bench_requests_%d_total{%s} %d\n", i/100, labels(i), i+step*10)
	}
	for i := range nGauge {
		fmt.Fprintf(&b, "bench_temperature_%d{%s} %d\n", i/100, labels(i), (i+step)%97)
	}
	for i := range nHist {
		fam, ls := fmt.Sprintf("bench_latency_%d_seconds", i/20), labels(i)
		if i%20 == 0 {
			fmt.Fprintf(&b, "# TYPE %s histogram\n", fam)
		}
		for k := range 10 {
			le := "+Inf"
			if k < 9 {
				le = fmt.Sprint(0.005 * float64(int(1)<<k))
			}
			fmt.Fprintf(&b, "%s_bucket{%s,le=%q} %d\n", fam, ls, le, (k+1)*(step+1))
		}
		fmt.Fprintf(&b, "%s_sum{%s} %d\n%s_count{%s} %d\n", fam, ls, step*3, fam, ls, 10*(step+1))
	}
	return b.String()
}

// benchWorkload parses the workload's scrapes 0..n-1 (5 s apart from base).
func benchWorkload(b *testing.B, base int64, n int) [][]scrape.Sample {
	var in [][]scrape.Sample // by scrape
	for s := range n {
		var all []scrape.Sample
		for id := range 10 {
			p := scrape.NewParser()
			got, err := p.Parse(scrape.FormatText, []byte(benchExposition(id, 20_000, s)), scrape.ParseOptions{})
			if err != nil {
				b.Fatal(err)
			}
			for i := range got {
				got[i].TimestampMs = base + int64(s)*5000
				got[i].Hash = scrape.SeriesHash(got[i].Name, got[i].Labels.Labels())
			}
			all = append(all, got...)
		}
		in = append(in, all)
	}
	return in
}

// BenchmarkApplyBenchWorkload is the CPU per input sample of
// promfwd-bench's workload through its 10 rules (-agg-rules mixed), series
// and groups created before the timer starts: every other scrape flushes
// a window (41k output series).
func BenchmarkApplyBenchWorkload(b *testing.B) {
	base := int64(1_800_000_000_000)
	in := benchWorkload(b, base, 2)
	a, err := New(benchRules(false), Options{MaxLateness: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	a.Apply(in[0], base)
	a.Apply(in[1], base+5000)
	ss := in[1]
	b.ResetTimer()
	for i := range b.N {
		ts := base + int64(i+2)*5000
		for j := range ss {
			ss[j].TimestampMs = ts
			ss[j].Value++
		}
		a.Apply(ss, ts)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ss)), "ns/sample")
}

// BenchmarkMemoryBenchWorkload is the heap the aggregation state holds for
// promfwd-bench's workload and rules (10 targets × 20k series, 10 rules),
// after 30 s of 5 s scrapes (windows flushed, the next open), per input
// series (counted once per rule that takes it, as the bench does).
func BenchmarkMemoryBenchWorkload(b *testing.B) {
	base := int64(1_800_000_000_000)
	in := benchWorkload(b, base, 7)
	for _, few := range []bool{false, true} {
		name := "mixed"
		if few {
			name = "few"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				runtime.GC()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				a, err := New(benchRules(few), Options{MaxLateness: 5 * time.Second})
				if err != nil {
					b.Fatal(err)
				}
				for s, ss := range in {
					a.Apply(ss, base+int64(s)*5000)
				}
				runtime.GC()
				runtime.ReadMemStats(&m1)
				nIn, nOut := 0, 0
				for _, r := range a.rules {
					nIn += r.numSeries()
					nOut += r.outputSeries()
				}
				heap := float64(m1.HeapAlloc) - float64(m0.HeapAlloc)
				b.ReportMetric(heap/float64(nIn), "bytes/input_series")
				b.ReportMetric(float64(nIn), "input_series")
				b.ReportMetric(float64(nOut), "output_series")
				runtime.KeepAlive(a)
			}
		})
	}
}
