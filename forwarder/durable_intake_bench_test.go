package forwarder

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks/stdout"
)

// BenchmarkScrapeDurable measures what making each scrape durable costs a
// scrape job (issue 21.6): admit alone (the old path: the samples wait in
// memory for flush_interval, the periodic checkpoint runs in the
// background) against admit then settle (encode + queue write + checkpoint
// with fsync before the job ends). One stdout sink with data_dir, dedupe
// on with every value changed, series per scrape as named.
//
//	go test -run '^$' -bench BenchmarkScrapeDurable -benchtime 200x ./forwarder/
func BenchmarkScrapeDurable(b *testing.B) {
	for _, series := range []int{100, 1000, 10000} {
		for _, sync := range []bool{false, true} {
			b.Run(fmt.Sprintf("series=%d/settle=%v", series, sync), func(b *testing.B) {
				cfg, err := config.Load("bench.yaml", []byte(fmt.Sprintf(`data_dir: %s
server: { listen: "" }
sources: [{name: s, url: "http://127.0.0.1:1/m"}]
sinks: [{name: out, type: stdout}]
`, b.TempDir())))
				if err != nil {
					b.Fatal(err)
				}
				cfg.Sinks[0].Settings.(*stdout.Config).Writer = io.Discard
				f, err := New(cfg, Options{Logger: zap.NewNop()})
				if err != nil {
					b.Fatal(err)
				}
				st := f.sinks["out"]
				st.runner.Start(context.Background())
				defer f.stopSink(context.Background(), st)
				routes := []*sinkState{st}
				cpu0, io0 := cpuAndWrites(b)
				b.ResetTimer()
				for i := range b.N {
					samples := make([]scrape.Sample, series)
					for j := range samples {
						ls := scrape.Labels{{Name: "i", Value: fmt.Sprint(j)}}
						samples[j] = scrape.Sample{Name: "g", Labels: scrape.SetOf(ls), Value: float64(i), Kind: scrape.KindGauge, Hash: scrape.SeriesHash("g", ls)}
					}
					st.admit(samples)
					if sync {
						settle(context.Background(), routes)
					}
				}
				b.StopTimer()
				st.runner.Stop(context.Background()) // the old path's deferred encode and checkpoint count too
				cpu1, io1 := cpuAndWrites(b)
				b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
				b.ReportMetric(float64(io1-io0)/float64(b.N), "disk-B/op")
			})
		}
	}
}

// cpuAndWrites is the process's CPU time so far and the bytes it caused to
// be written to storage (/proc/self/io write_bytes; 0 where unavailable).
func cpuAndWrites(b *testing.B) (time.Duration, int64) {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	var written int64
	if data, err := os.ReadFile("/proc/self/io"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
				_, _ = fmt.Sscan(v, &written)
			}
		}
	}
	return cpu, written
}
