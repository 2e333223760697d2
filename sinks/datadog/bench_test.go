package datadog

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// benchBatch is a 20k-sample scrape: counters with three labels and, every
// tenth series, a 5-sample histogram group.
func benchBatch(n int) []scrape.Sample {
	cmeta := &scrape.Meta{Family: "http_requests", Type: scrape.TypeCounter}
	hmeta := &scrape.Meta{Family: "http_request_duration_seconds", Type: scrape.TypeHistogram}
	out := make([]scrape.Sample, 0, n)
	for i := 0; len(out) < n; i++ {
		base := labels("handler", "/api/v"+strconv.Itoa(i%9), "instance", fmt.Sprintf("10.0.%d.%d:8080", i/250%250, i%250), "pod", "web-"+strconv.Itoa(i))
		if i%10 == 9 && n-len(out) >= 5 {
			for _, le := range []string{"0.1", "1", "+Inf"} {
				ls := append(append(scrape.Labels{}, base[:2]...), scrape.Label{Name: "le", Value: le}, base[2])
				out = append(out, sample("http_request_duration_seconds_bucket", scrape.KindHistogramBucket, hmeta, ls, 0, t0))
			}
			out = append(out, sample("http_request_duration_seconds_sum", scrape.KindHistogramSum, hmeta, base, 0, t0))
			out = append(out, sample("http_request_duration_seconds_count", scrape.KindHistogramCount, hmeta, base, 0, t0))
			continue
		}
		out = append(out, sample("http_requests_total", scrape.KindCounter, cmeta, base, 0, t0))
	}
	return out
}

func BenchmarkEncode(b *testing.B) {
	const n = 20_000
	clock := clockwork.NewFakeClockAt(t0)
	cfg := DefaultConfig()
	cfg.URL, cfg.APIKey, cfg.Host = "http://127.0.0.1:1", "k", "bench-host"
	s, err := newSink(cfg, sinks.Settings{}, options{clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := benchBatch(n)
	scrapeAt := func(k int) {
		clock.Advance(15 * time.Second)
		ts := clock.Now().UnixMilli()
		for i := range batch {
			batch[i].TimestampMs = ts
			batch[i].Value = float64(k * (i%7 + 1))
		}
	}
	scrapeAt(1)
	if _, err := s.Encode(batch); err != nil { // first observation: state only
		b.Fatal(err)
	}
	var ms0, ms1 runtime.MemStats
	var bytes, points int
	b.ResetTimer()
	runtime.ReadMemStats(&ms0)
	for k := 0; b.Loop(); k++ {
		b.StopTimer()
		scrapeAt(k + 2)
		b.StartTimer()
		enc, err := s.Encode(batch)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range enc.Requests {
			bytes += len(r.Body)
			points += r.Samples
		}
	}
	runtime.ReadMemStats(&ms1)
	samples := float64(b.N) * n
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/samples, "ns/sample")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/samples, "allocs/sample")
	b.ReportMetric(float64(bytes)/samples, "gzip-bytes/sample")
	if points == 0 {
		b.Fatal("no points encoded")
	}
}
