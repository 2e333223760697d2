package remotewrite

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks/sinktest"
)

// benchBatch is 20,000 samples shaped like a busy exporter: half counters and
// gauges with five labels, half histograms (3 buckets, _sum, _count).
func benchBatch() []scrape.Sample {
	const ts = 1700000000000
	hm := &scrape.Meta{Family: "http_request_duration_seconds", Type: scrape.TypeHistogram}
	var out []scrape.Sample
	for i := range 10000 {
		name := "http_requests_total"
		if i%2 == 1 {
			name = "process_resident_memory_bytes"
		}
		out = append(out, smp(name, ts, float64(i*17),
			"code", fmt.Sprint(200+i%5), "handler", fmt.Sprintf("/api/v1/item/%d", i/10),
			"instance", fmt.Sprintf("10.0.%d.%d:9100", i/250, i%250), "job", "node", "method", "GET"))
	}
	for i := range 2000 {
		out = append(out, histogram(hm, ts, float64(i), "handler", fmt.Sprintf("/h/%d", i), "instance", "10.1.0.1:8080", "job", "api")...)
	}
	return out
}

// benchTargetLabels are the target labels the parsed variant is scraped
// with, as a Prometheus-style scrape config adds them.
var benchTargetLabels = scrape.Labels{{Name: "instance", Value: "127.0.0.1:9100"}, {Name: "job", Value: "bench"}}

// BenchmarkEncode encodes the batch as built by hand (plain label sets) and
// as the parser delivers it (src=parsed: compact sets of a symbol table,
// the production case).
func BenchmarkEncode(b *testing.B) {
	built := benchBatch()
	for _, src := range []string{"built", "parsed"} {
		batch := built
		if src == "parsed" {
			batch = sinktest.Reparse(b, built, benchTargetLabels)
		}
		for _, shards := range []int{1, 4} {
			b.Run(fmt.Sprintf("src=%s/shards=%d", src, shards), func(b *testing.B) { benchEncode(b, batch, shards) })
		}
	}
}

func benchEncode(b *testing.B, batch []scrape.Sample, shards int) {
	s := newTestEncoder(b, DefaultMaxSamplesPerSend, shards)
	var wire int
	var ms0, ms1 runtime.MemStats
	b.ReportAllocs()
	runtime.ReadMemStats(&ms0)
	cpu0 := processCPU()
	b.ResetTimer()
	for b.Loop() {
		enc, err := s.Encode(batch)
		if err != nil {
			b.Fatal(err)
		}
		wire = 0
		for _, r := range enc.Requests {
			wire += len(r.Body)
			s.Recycle(r.Body) // as the Runner does once a request is delivered
		}
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	runtime.ReadMemStats(&ms1)
	n := float64(b.N) * float64(len(batch))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/sample")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/sample")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/sample")
	b.ReportMetric(float64(wire)/float64(len(batch)), "wire-bytes/sample")
}
