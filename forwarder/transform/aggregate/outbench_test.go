package aggregate

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/promfwd/promfwd/scrape"
)

// groupInput is n counter series req_total{g, s}: s is unique, g has n/k
// values (k series per g).
func groupInput(n, k int, ts int64) []scrape.Sample {
	out := make([]scrape.Sample, n)
	for i := range out {
		ls := scrape.Labels{{Name: "g", Value: fmt.Sprintf("group-%d", i/k)}, {Name: "s", Value: fmt.Sprintf("series-%d", i)}}
		out[i] = scrape.Sample{Name: "req_total", Labels: scrape.SetOf(ls), Value: float64(i), TimestampMs: ts, Kind: scrape.KindCounter, Hash: scrape.SeriesHash("req_total", ls)}
	}
	return out
}

// BenchmarkMemoryPerOutputSeries reports the heap the aggregation state
// holds per OUTPUT series (bytes/output_series; output series are groups ×
// outputs, the figure max_output_series bounds), next to the same heap per
// input series. 200k input series req_total{g, s}, grouped by g:
// one_input_per_group has 200k groups (every output near-unique, as a
// `without: [instance]` over unique series), 20_inputs_per_group 10k. The
// state is measured after one window was flushed (its output label sets
// and hashes exist) with the next window open.
func BenchmarkMemoryPerOutputSeries(b *testing.B) {
	for _, k := range []int{1, 20} {
		for _, outs := range [][]string{{"total"}, {"total", "increase", "max"}} {
			name := fmt.Sprintf("%d_inputs_per_group/%d_outputs", k, len(outs))
			rule := Rule{Match: `req_total`, Interval: time.Minute, By: []string{"g"}, Outputs: outs, MaxOutputSeries: 1 << 30}
			b.Run(name, func(b *testing.B) { benchOutputMemory(b, rule, k) })
		}
	}
}

func benchOutputMemory(b *testing.B, rule Rule, k int) {
	const n = 200_000
	base := int64(1_800_000_000_000) // a multiple of the minute: windows start here
	in := groupInput(n, k, base)
	next := groupInput(n, k, base+time.Minute.Milliseconds())
	for range b.N {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		a, err := New([]Rule{rule}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		a.Apply(in, base)
		if out := a.Apply(next, base+time.Minute.Milliseconds()); len(out) == 0 {
			b.Fatal("the first window did not flush")
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		outs := a.rules[0].outputSeries()
		if outs == 0 {
			b.Fatal("no output series")
		}
		heap := float64(m1.HeapAlloc) - float64(m0.HeapAlloc)
		b.ReportMetric(heap/float64(outs), "bytes/output_series")
		b.ReportMetric(heap/n, "bytes/input_series")
		b.ReportMetric(float64(outs), "output_series")
		r := a.rules[0]
		in, groups := stateBytes(r)
		ng := float64(r.numGroups())
		b.ReportMetric(in/n, "slices_B/input")
		b.ReportMetric(groups/ng, "slices+keys_B/group")
		b.ReportMetric((heap-in-groups)/ng, "rest_B/group")
		runtime.KeepAlive(a)
	}
}

// stateBytes is the capacity of the rule's per-input-series arrays (core,
// ctr, rates, the index table) and of its per-group ones (groups, the key
// arena, the group index, the open windows' columns); the rest of the heap
// is the flushed window kept for its arrays, metas and small fixed parts.
func stateBytes(r *ruleState) (in, groups float64) {
	in = float64(r.core.capacity())*float64(unsafe.Sizeof(seriesCore{})) + float64(r.ctr.capacity())*float64(unsafe.Sizeof(counterState{})) +
		float64(r.rates.capacity())*float64(unsafe.Sizeof(rateState{})) + float64(cap(r.index.tab))*4
	groups = float64(cap(r.groups))*float64(unsafe.Sizeof(group{})) + float64(cap(r.keys)) + float64(cap(r.tab))*4
	for _, w := range r.windows {
		groups += float64(cap(w.flags)) + float64(cap(w.f))*8 + float64(cap(w.ts))*8 + float64(cap(w.vals))*24
	}
	return in, groups
}
