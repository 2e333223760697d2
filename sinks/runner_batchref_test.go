package sinks

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// gateSink holds every Encode until the test opens the gate, then copies
// what it reads: a batch array handed out again while a chunk of it waits
// to be encoded shows up as the thief's samples.
type gateSink struct {
	entered chan int
	gate    chan struct{}
	done    chan struct{} // closed when the test ends: Encode no longer waits
	mu      sync.Mutex
	got     []scrape.Sample
	calls   int
}

func newGateSink() *gateSink {
	return &gateSink{entered: make(chan int), gate: make(chan struct{}), done: make(chan struct{})}
}

// startGated starts a runner over g; the test's end opens g for good (before
// the runner's Stop), so a failing test does not hang in Encode.
func startGated(t *testing.T, g *gateSink, cfg RunnerConfig) *testRunner {
	r := startRunner(t, g, cfg)
	t.Cleanup(func() { close(g.done) })
	return r
}

func (g *gateSink) Encode(samples []scrape.Sample) (Encoded, error) {
	g.mu.Lock()
	g.calls++
	n := g.calls
	g.mu.Unlock()
	select {
	case g.entered <- n:
		select {
		case <-g.gate:
		case <-g.done:
		}
	case <-g.done:
	}
	g.mu.Lock()
	g.got = append(g.got, samples...)
	g.mu.Unlock()
	return Encoded{Requests: []Request{{Body: []byte("x"), Samples: len(samples)}}}, nil
}

func (g *gateSink) Send(context.Context, Request) error { return nil }
func (g *gateSink) Close() error                        { return nil }

func (g *gateSink) names() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, s := range g.got {
		out = append(out, fmt.Sprintf("%s=%v", s.Name, s.Value))
	}
	return out
}

// pooledGauges fills a pooled array with n gauges named prefix0.. with
// values 0..n-1.
func pooledGauges(p *scrape.BatchPool, prefix string, n int) ([]scrape.Sample, *scrape.BatchRef) {
	s, ref := p.NewBatch(n)
	for i := range n {
		s = append(s, scrape.Sample{Name: fmt.Sprintf("%s%d", prefix, i), Kind: scrape.KindGauge, Value: float64(i)})
	}
	return s, ref
}

func sameArray(a, b []scrape.Sample) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:1][0] == &b[:1][0]
}

func wantNames(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%d=%d", prefix, i, i))
	}
	return out
}

// TestRunnerReleasesBatchAfterEncode: a pending batch's array goes back to
// the pool only once the chunk holding its last samples is encoded. While
// any chunk of it waits in Encode, a new batch of the same size (the next
// scrape) gets another array and scribbles on it; the encoded values stay
// the batch's own. Afterwards the array is reused.
func TestRunnerReleasesBatchAfterEncode(t *testing.T) {
	const n = 12
	for _, tc := range []struct {
		name    string
		cfg     RunnerConfig
		submit  func(r *testRunner, p *scrape.BatchPool) []scrape.Sample // returns the watched array
		encodes int                                                      // Encode calls before Stop
		watched int                                                      // the first ones read the watched array
		want    []string
	}{{
		name: "whole batch passed through",
		cfg:  RunnerConfig{MaxBatchSamples: n},
		submit: func(r *testRunner, p *scrape.BatchPool) []scrape.Sample {
			a, ref := pooledGauges(p, "a", n)
			r.SubmitBatch(a, ref)
			return a
		},
		encodes: 1, watched: 1, want: wantNames("a", 0, n),
	}, {
		name: "split across chunks",
		cfg:  RunnerConfig{MaxBatchSamples: 4},
		submit: func(r *testRunner, p *scrape.BatchPool) []scrape.Sample {
			a, ref := pooledGauges(p, "a", n)
			r.SubmitBatch(a, ref)
			return a
		},
		encodes: 3, watched: 3, want: wantNames("a", 0, n),
	}, {
		name: "parts of one batch, copied into chunks",
		cfg:  RunnerConfig{MaxBatchSamples: 4},
		submit: func(r *testRunner, p *scrape.BatchPool) []scrape.Sample {
			a, job := pooledGauges(p, "a", n)
			r.SubmitBatch(a[0:3:3], job.Ref()) // what dedupe's FilterParts passes: views
			r.SubmitBatch(a[5:10:10], job.Ref())
			job.Release() // the scrape job is done
			return a
		},
		encodes: 2, watched: 2, want: append(wantNames("a", 0, 3), wantNames("a", 5, 10)...),
	}, {
		name: "evicted while a chunk of it is encoded",
		cfg:  RunnerConfig{MaxBatchSamples: 4, MaxPendingSamples: n},
		submit: func(r *testRunner, p *scrape.BatchPool) []scrape.Sample {
			a, ref := pooledGauges(p, "a", n)
			r.SubmitBatch(a, ref)
			return a
		},
		encodes: 3, watched: 1, want: append(wantNames("a", 0, 4), wantNames("b", 0, 8)...),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			pool := scrape.NewBatchPool(0, 0)
			gs := newGateSink()
			r := startGated(t, gs, tc.cfg)
			watched := tc.submit(r, pool)
			var stolen []*scrape.BatchRef
			defer func() {
				for _, s := range stolen {
					s.Release()
				}
			}()
			for i := 1; i <= tc.encodes; i++ {
				<-gs.entered
				if i == 1 && tc.cfg.MaxPendingSamples > 0 {
					// A's first chunk is in Encode: B pushes A's rest out.
					r.Submit(gauges("b", 8))
				}
				if i <= tc.watched {
					// The next scrape parses into whatever the pool gives.
					s, ref := pooledGauges(pool, "stolen", n)
					stolen = append(stolen, ref)
					if sameArray(s, watched) {
						t.Errorf("encode %d: the batch's array was handed out while a chunk of it waits to be encoded", i)
					}
				}
				gs.gate <- struct{}{}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			r.Stop(ctx)
			if got := gs.names(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("encoded %v\nwant    %v", got, tc.want)
			}
			// Encoded: the array is back, zeroed, for the next batch.
			s, ref := pool.NewBatch(n)
			defer ref.Release()
			if !sameArray(s, watched) {
				t.Fatalf("the encoded batch's array was not reused: %+v", pool.Stats())
			}
			if watched[0].Name != "" {
				t.Fatalf("reused array not zeroed: %+v", watched[0])
			}
		})
	}
}

// TestRunnerBatchTwoSinks: each sink's runner holds its own reference; the
// array waits for the slow one.
func TestRunnerBatchTwoSinks(t *testing.T) {
	pool := scrape.NewBatchPool(0, 0)
	fast := newFakeSink()
	slow := newGateSink()
	rf := startRunner(t, fast, RunnerConfig{MaxBatchSamples: 10})
	rs := startGated(t, slow, RunnerConfig{MaxBatchSamples: 10})
	a, job := pooledGauges(pool, "a", 10)
	rf.SubmitBatch(a, job.Ref())
	rs.SubmitBatch(a, job.Ref())
	job.Release()
	<-slow.entered
	waitDelivered(t, fast, 1)
	s, ref := pool.NewBatch(10)
	defer ref.Release()
	if sameArray(s, a) {
		t.Error("array reused while the slow sink has not encoded it")
	}
	slow.gate <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rs.Stop(ctx)
	if got, want := slow.names(), wantNames("a", 0, 10); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("slow sink encoded %v, want %v", got, want)
	}
	if st := pool.Stats(); st.Arrays != 1 {
		t.Fatalf("after both encoded, pool holds %d arrays, want the batch's", st.Arrays)
	}
}

// TestRunnerBatchStopAndDrop: a batch pending at Stop is released after its
// final encode, one submitted after Stop or too large for the intake at
// once (never encoded).
func TestRunnerBatchStopAndDrop(t *testing.T) {
	pool := scrape.NewBatchPool(0, 0)
	fs := newFakeSink()
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 100, MaxPendingSamples: 50})
	a, ref := pooledGauges(pool, "a", 10) // below MaxBatchSamples: waits for the flush
	r.SubmitBatch(a, ref)
	big, bref := pooledGauges(pool, "big", 60) // larger than the intake: dropped
	r.SubmitBatch(big, bref)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r.Stop(ctx)
	if got := fs.chunkLens(); fmt.Sprint(got) != "[10]" {
		t.Fatalf("chunks %v, want the pending batch's 10 samples", got)
	}
	if st := pool.Stats(); st.Arrays != 2 {
		t.Fatalf("after Stop the pool holds %d arrays, want both", st.Arrays)
	}
	late, lref := pool.NewBatch(10)
	late = append(late, gauges("late", 3)...)
	r.SubmitBatch(late, lref)
	if st := pool.Stats(); st.Arrays != 2 { // it took one of the two from the pool
		t.Fatalf("a batch submitted after Stop was not released: %+v", st)
	}
}

// TestRunnerBatchStopWhileEncoding: Stop (a reload retiring the runner,
// or shutdown) while a batch's chunk is in Encode and more of it pending
// releases the batch only after its last chunk is encoded.
func TestRunnerBatchStopWhileEncoding(t *testing.T) {
	pool := scrape.NewBatchPool(0, 0)
	gs := newGateSink()
	r := startGated(t, gs, RunnerConfig{MaxBatchSamples: 4})
	a, ref := pooledGauges(pool, "a", 10) // chunks of 4, 4 and, at Stop, 2
	r.SubmitBatch(a, ref)
	<-gs.entered
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r.Stop(ctx)
	}()
	var stolen []*scrape.BatchRef
	for i := 1; i <= 3; i++ {
		if i > 1 {
			<-gs.entered
		}
		s, sref := pooledGauges(pool, "stolen", 10)
		stolen = append(stolen, sref)
		if sameArray(s, a) {
			t.Errorf("encode %d: the batch's array was handed out during Stop before its last chunk was encoded", i)
		}
		gs.gate <- struct{}{}
	}
	<-stopped
	for _, s := range stolen {
		s.Release()
	}
	if got, want := gs.names(), wantNames("a", 0, 10); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("encoded %v\nwant    %v", got, want)
	}
}
