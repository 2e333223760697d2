package state

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/promfwd/promfwd/scrape"
)

// dedupeBenchBatch is one scrape of 20,000 series shaped like the end-to-end
// benchmark's workload: counters, gauges and 10-bucket histograms.
func dedupeBenchBatch(n int) []scrape.Sample {
	hm := &scrape.Meta{Family: "lat_seconds", Type: scrape.TypeHistogram}
	out := make([]scrape.Sample, 0, n)
	for i := 0; len(out) < n; i++ {
		if i%10 == 9 {
			for b := range 12 {
				out = append(out, mk("lat_seconds_bucket", float64(b), scrape.KindHistogramBucket, hm, "le", fmt.Sprint(b), "series", fmt.Sprint(i)))
			}
			continue
		}
		out = append(out, mk("req_total", float64(i), scrape.KindCounter, nil, "instance", "a", "series", fmt.Sprint(i)))
	}
	return out[:n]
}

// BenchmarkDedupeFilter measures the per-sample cost of the dedupe lookup
// on a 20k-series scrape: every value changed (all sent), or none changed
// (all skipped until the heartbeat).
func BenchmarkDedupeFilter(b *testing.B) {
	for _, changed := range []bool{true, false} {
		b.Run(fmt.Sprintf("changed=%v", changed), func(b *testing.B) {
			batch := dedupeBenchBatch(20000)
			d := NewDedupe(time.Hour, clockwork.NewFakeClock())
			d.Filter(batch)
			var ms0, ms1 runtime.MemStats
			b.ReportAllocs()
			runtime.ReadMemStats(&ms0)
			b.ResetTimer()
			for b.Loop() {
				if changed {
					for i := range batch {
						batch[i].Value++
					}
				}
				out, skipped := d.Filter(batch)
				if changed && skipped != 0 || !changed && len(out) != 0 {
					b.Fatalf("out %d skipped %d", len(out), skipped)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			n := float64(b.N) * float64(len(batch))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/sample")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/sample")
		})
	}
}
