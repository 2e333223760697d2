package forwarder

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// Tests of the reuse of scrape batch arrays (batchref.go): a premature
// release hands a batch's array to a later scrape while a sink has yet to
// encode it, and the sink then sends the later scrape's values (or zeroed
// samples) instead.

const batchSeries = 40

// batchTarget serves batchSeries series m{s="0".."39"}; value(scrape, s)
// gives each one's value in the n-th answer (from 1).
func batchTarget(t *testing.T, value func(n, s int) int, header http.Header) *httptest.Server {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		i := int(n.Add(1))
		for k, v := range header {
			w.Header()[k] = v
		}
		var b strings.Builder
		for s := range batchSeries {
			fmt.Fprintf(&b, "m{s=\"%d\"} %d\n", s, value(i, s))
		}
		_, _ = w.Write([]byte(b.String()))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// gatedSink holds the Encode that follows hold() until release() (or the
// test's end), then encodes with the real sink.
type gatedSink struct {
	sinks.Sink
	armed   atomic.Bool
	entered chan struct{}
	gate    chan struct{}
	done    chan struct{}
}

func (g *gatedSink) hold() { g.armed.Store(true) }

func (g *gatedSink) Encode(samples []scrape.Sample) (sinks.Encoded, error) {
	if g.armed.CompareAndSwap(true, false) {
		select {
		case g.entered <- struct{}{}:
			select {
			case <-g.gate:
			case <-g.done:
			}
		case <-g.done:
		}
	}
	return g.Sink.Encode(samples)
}

// swapRunner replaces sink name's runner (New built it; Run never started
// it) by one over a gatedSink, started when start is set, flushing each
// batch at once. The test's end opens the gate and stops the runner.
func swapRunner(t *testing.T, f *Forwarder, name string, start bool) (*gatedSink, *sinks.Runner) {
	st := f.sinks[name]
	g := &gatedSink{Sink: st.sink, entered: make(chan struct{}), gate: make(chan struct{}), done: make(chan struct{})}
	r := sinks.NewRunner(g, sinks.RunnerConfig{MaxBatchSamples: 100_000, FlushInterval: time.Millisecond},
		sinks.Settings{Name: name}, nil)
	if start {
		r.Start(context.Background())
	}
	st.runner = r
	t.Cleanup(func() {
		close(g.done)
		stopRunner(t, r)
	})
	return g, r
}

// stopRunner stops r and returns the lines of the requests it did not
// send (all of them for a runner never started: Stop encodes them).
func stopRunner(t *testing.T, r *sinks.Runner) []outLine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b lineBuffer
	for _, req := range r.Stop(ctx) {
		_, _ = b.Write(req.Body)
	}
	return b.lines(t)
}

// mValues returns each m line's value by series label, in order, and
// fails on lines the batch cannot have produced (a zeroed sample).
func mValues(t *testing.T, lines []outLine, job string) map[string][]float64 {
	t.Helper()
	got := map[string][]float64{}
	for _, l := range lines {
		switch {
		case l.Name == "":
			t.Errorf("a sample with no name was sent (a zeroed, reused array): %+v", l)
		case l.Name == "m" && l.Labels["job"] == job:
			v, _ := l.Value.(float64)
			got[l.Labels["s"]] = append(got[l.Labels["s"]], v)
		}
	}
	return got
}

func batchConfig(t *testing.T, sinkNames []string, sources string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("server:\n  listen: \"\"\n")
	b.WriteString(sources)
	b.WriteString("sinks:\n")
	for _, n := range sinkNames {
		fmt.Fprintf(&b, "  - name: %s\n    type: stdout\n", n)
	}
	return b.String()
}

// TestScrapeBatchIntactWhileEncodeBlocked: a sink's Encode of a scrape's
// batch is held while the same target is scraped three more times; that
// scrape's values must be what it encodes. Cases: the
// whole batch in one chunk, dedupe passing views of it (half the series
// unchanged), and two sinks of which only one is held. Afterwards the
// arrays are reused.
func TestScrapeBatchIntactWhileEncodeBlocked(t *testing.T) {
	every := func(n, _ int) int { return n }
	for _, tc := range []struct {
		name  string
		sinks []string // the first is held; all are checked
		value func(n, s int) int
		// successor: the source routes to sink "old", which a reload
		// replaced by sinks[0] (reload_durable.go: admits go to next).
		successor bool
	}{
		{"whole batch", []string{"out"}, every, false},
		{"dedupe parts", []string{"out"}, func(n, s int) int {
			if s < batchSeries/2 {
				return 7 // unchanged: dedupe skips it after the first scrape
			}
			return n
		}, false},
		{"two sinks, one held", []string{"slow", "fast"}, every, false},
		{"reload successor", []string{"new"}, every, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := batchTarget(t, tc.value, nil)
			// Without the per-target series (some of which dedupe skips),
			// a scrape reaches the runner as one part, which it passes to
			// Encode without copying.
			source := fmt.Sprintf("sources:\n  - name: s\n    url: %s/metrics\n    interval: 10s\n    target_series: false\n", srv.URL)
			all := tc.sinks
			if tc.successor {
				source += "    sinks: [old]\n"
				all = append([]string{"old"}, tc.sinks...)
			}
			cfg, out := loadRunConfig(t, batchConfig(t, all, source))
			f, err := New(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.successor {
				f.sinks["old"].next = f.sinks[tc.sinks[0]]
			}
			gs := map[string]*gatedSink{}
			for _, n := range tc.sinks {
				gs[n], _ = swapRunner(t, f, n, true)
			}
			held := gs[tc.sinks[0]]
			src := f.sources["s"].src
			ctx := context.Background()
			// A first scrape sizes the arrays: the next ones leave room
			// for the per-target series.
			f.scrapeOnce(ctx, src)
			pollFor(t, runWait, "first batch released", func() bool { return f.batches.Stats().Arrays > 0 })
			held.hold()
			f.scrapeOnce(ctx, src)
			<-held.entered // the second batch is in Encode
			for range 3 {
				f.scrapeOnce(ctx, src)
			}
			held.gate <- struct{}{}
			for _, n := range tc.sinks {
				stopRunner(t, f.sinks[n].runner)
				got := mValues(t, out[n].lines(t), "s")
				for s := range batchSeries {
					var want []float64
					for i := 1; i <= 5; i++ {
						if v := float64(tc.value(i, s)); i == 1 || v != want[len(want)-1] {
							want = append(want, v)
						}
					}
					if k := fmt.Sprint(s); fmt.Sprint(got[k]) != fmt.Sprint(want) {
						t.Fatalf("sink %s: series s=%d sent %v, want %v", n, s, got[k], want)
					}
				}
			}
			if st := f.batches.Stats(); st.Arrays == 0 {
				t.Fatalf("no array went back to the pool once encoded: %+v", st)
			}
		})
	}
}

// TestScrapeBatchReuseAcrossScrapes: with sinks keeping up, later scrapes
// parse into the arrays of earlier ones, and every value still arrives.
func TestScrapeBatchReuseAcrossScrapes(t *testing.T) {
	srv := batchTarget(t, func(n, _ int) int { return n }, nil)
	cfg, _ := loadRunConfig(t, batchConfig(t, []string{"out"}, fmt.Sprintf(
		"sources:\n  - name: s\n    url: %s/metrics\n    interval: 10s\n", srv.URL)))
	f, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	src := f.sources["s"].src
	var lines []outLine
	for range 4 {
		_, r := swapRunner(t, f, "out", false)
		f.scrapeOnce(context.Background(), src)
		lines = append(lines, stopRunner(t, r)...) // encoded: the batch is released
	}
	// The first parse is sized by its body and outgrown by the per-target
	// series; from the second on, arrays leave room for them.
	if st := f.batches.Stats(); st.Reused < 2 {
		t.Fatalf("scrapes 3-4 did not reuse the released arrays: %+v", st)
	}
	got := mValues(t, lines, "s")
	for s := range batchSeries {
		if k := fmt.Sprint(s); fmt.Sprint(got[k]) != "[1 2 3 4]" {
			t.Fatalf("series s=%d sent %v, want [1 2 3 4]", s, got[k])
		}
	}
}

// TestScrapeBatchMaxAgeKept: a source whose target allows caching keeps
// its last samples for a max-age reuse, so their array never goes back to
// the pool: after its batch is encoded, another target of the same size
// scrapes, and the cached reuse still sends the original values.
func TestScrapeBatchMaxAgeKept(t *testing.T) {
	cached := batchTarget(t, func(int, int) int { return 1001 }, http.Header{"Cache-Control": {"max-age=300"}})
	other := batchTarget(t, func(n, _ int) int { return n }, nil)
	cfg, _ := loadRunConfig(t, batchConfig(t, []string{"out"}, fmt.Sprintf(`dedupe:
  enabled: false
sources:
  - name: a
    url: %s/metrics
    interval: 10s
  - name: b
    url: %s/metrics
    interval: 10s
`, cached.URL, other.URL)))
	f, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.sources["a"].src, f.sources["b"].src
	ctx := context.Background()
	_, r := swapRunner(t, f, "out", false)
	f.scrapeOnce(ctx, a)
	lines := stopRunner(t, r) // encoded: only a pin keeps the array out of the pool
	if a.last == nil {
		t.Fatal("the max-age source kept no samples")
	}
	_, r = swapRunner(t, f, "out", false)
	f.scrapeOnce(ctx, b) // parses into a pooled array
	f.scrapeOnce(ctx, a) // fresh: reuses a.last
	lines = append(lines, stopRunner(t, r)...)
	got := mValues(t, lines, "a")
	for s := range batchSeries {
		if k := fmt.Sprint(s); fmt.Sprint(got[k]) != "[1001 1001]" {
			t.Fatalf("series s=%d of the cached source sent %v, want [1001 1001]", s, got[k])
		}
	}
	if n := len(mValues(t, lines, "b")); n != batchSeries {
		t.Fatalf("other source: %d series sent, want %d", n, batchSeries)
	}
}
