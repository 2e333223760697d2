package scrape

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// tgtBenchBody renders a 20k-series text exposition (200 counter families of
// 100 series, three labels each); gen changes every value.
func tgtBenchBody(gen int) []byte {
	var b strings.Builder
	for f := range 200 {
		fmt.Fprintf(&b, "# HELP bench_family_%d_total Requests handled by handler %d.\n# TYPE bench_family_%d_total counter\n", f, f, f)
		for s := range 100 {
			fmt.Fprintf(&b, "bench_family_%d_total{code=\"%d\",instance=\"host-%d.example.com:9100\",path=\"/api/v1/items/%d\"} %d\n",
				f, 200+s%5, s%10, s, f*1000+s+gen)
		}
	}
	return []byte(b.String())
}

// BenchmarkScrapeHTTP measures one full scrape (HTTP round trip on
// 127.0.0.1, body read, parse) of a 20k-series target. "changing" alternates
// two bodies so every scrape parses; "unchanged" serves one body, so every
// scrape after the first is skipped by its hash. Allocations include the
// test server's.
func BenchmarkScrapeHTTP(b *testing.B) {
	const series = 20_000
	bodies := [][]byte{tgtBenchBody(0), tgtBenchBody(1)}
	cases := []struct {
		name   string
		gzip   bool
		rotate bool
	}{
		{"changing", false, true},
		{"changing-gzip", true, true},
		{"unchanged", false, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			served := make([][]byte, len(bodies))
			for i, body := range bodies {
				served[i] = body
				if c.gzip {
					served[i] = tgtGzip(b, body)
				}
			}
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := 0
				if c.rotate {
					i = int(n.Add(1) % 2)
				}
				w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
				if c.gzip {
					w.Header().Set("Content-Encoding", "gzip")
				}
				_, _ = w.Write(served[i])
			}))
			defer srv.Close()
			tg := tgtNew(b, srv.URL, nil)
			ctx := context.Background()
			if res := tg.Scrape(ctx, tgtNow); res.Err != nil || len(res.Samples) != series {
				b.Fatalf("warm-up: %d samples, %v", len(res.Samples), res.Err)
			}
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			b.ResetTimer()
			for range b.N {
				res := tg.Scrape(ctx, tgtNow)
				if res.Err != nil || len(res.Samples) != series {
					b.Fatalf("%d samples, %v", len(res.Samples), res.Err)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			perSample := float64(b.N) * series
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/perSample, "ns/sample")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/perSample, "allocs/sample")
			b.ReportMetric(float64(len(bodies[0])), "body-bytes")
		})
	}
}
