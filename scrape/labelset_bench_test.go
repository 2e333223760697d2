package scrape

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchSets returns n compact sets shaped like the benchmark workload's
// series (cmd/promfwd-bench): the target labels, an exported instance, a
// per-series value past the first 128 symbols and up to three of 200
// shared values.
func benchSets(n int) []LabelSet {
	tab := newSymTable(Labels{{"instance", "target:9100"}, {"job", "bench"}})
	var a labelArena
	a.hint = 1 << 20 // full chunks (capped), in either unit
	sets := make([]LabelSet, n)
	r := rand.New(rand.NewPCG(1, 2)) // shapes vary as the workload's, unpredictably
	for i := range sets {
		ls := Labels{{"exported_instance", "bench-0"}, {"instance", "target:9100"}, {"job", "bench"}}
		for j := 2; j < 2+r.IntN(4); j++ {
			ls = append(ls, Label{fmt.Sprintf("l%d", j), fmt.Sprintf("value-%d-%d", j, r.IntN(50))})
		}
		ls = append(ls, Label{"series", fmt.Sprint(r.IntN(n))})
		sets[i] = a.encode(tab, ls)
	}
	return sets
}

func BenchmarkLabelSetRead(b *testing.B) {
	sets := benchSets(20000)
	twins := make([]LabelSet, len(sets)) // equal sets in other storage
	for i, s := range sets {
		twins[i] = (&labelArena{}).encode(s.syms.tab, s.Labels())
	}
	b.Run("AppendTo", func(b *testing.B) {
		var buf Labels
		for b.Loop() {
			for _, s := range sets {
				buf = s.AppendTo(buf[:0])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(sets)), "ns/set")
	})
	b.Run("AppendToProps", func(b *testing.B) {
		var buf Labels
		for b.Loop() {
			for _, s := range sets {
				buf, _, _ = s.AppendToProps(buf[:0])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(sets)), "ns/set")
	})
	b.Run("Get", func(b *testing.B) {
		n := 0
		for b.Loop() {
			for _, s := range sets {
				n += len(s.Get("series"))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(sets)), "ns/set")
	})
	b.Run("Equal", func(b *testing.B) {
		for b.Loop() {
			for i, s := range sets {
				if !s.Equal(twins[i]) {
					b.Fatal("not equal")
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(sets)), "ns/set")
	})
	b.Run("SeriesHash", func(b *testing.B) {
		var h uint64
		for b.Loop() {
			for _, s := range sets {
				h += s.SeriesHash("m")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(sets)), "ns/set")
	})
}
