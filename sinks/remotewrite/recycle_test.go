package remotewrite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// TestRecycleReusesBody: a body handed back through Recycle is the buffer
// of a later request of its size, and a body still held is never reused.
func TestRecycleReusesBody(t *testing.T) {
	s := fastSink(t, configFor("http://127.0.0.1:1"), sinks.Settings{})
	batch := func(v float64) []scrape.Sample {
		out := make([]scrape.Sample, 200)
		for i := range out {
			out[i] = smp("reuse", 1_700_000_000_000, v, "i", fmt.Sprint(i))
		}
		return out
	}
	first := encodeOne(t, s, batch(1))
	held := encodeOne(t, s, batch(2))
	if &first.Body[0] == &held.Body[0] {
		t.Fatal("two requests share a body")
	}
	want := bytes.Clone(held.Body)
	s.Recycle(first.Body)
	again := encodeOne(t, s, batch(3))
	if &again.Body[0] != &first.Body[0] {
		t.Error("the recycled body was not reused by the next request")
	}
	if !bytes.Equal(held.Body, want) {
		t.Fatal("encoding changed a body still held")
	}
	if got := decodeBody(t, again.Body); len(got) != 200 || got[0].Samples[0].Bits != v(3) {
		t.Fatalf("reused body decodes to %d series", len(got))
	}
}

// TestRunnerRetriedBodyUnchangedWhileBodiesRecycled: through a real Runner
// and a real server, the first request of each round is answered 503 until
// more batches have been encoded (from bodies recycled in earlier rounds);
// every retry of it carries the bytes of its first attempt, and every
// sample arrives exactly as submitted.
func TestRunnerRetriedBodyUnchangedWhileBodiesRecycled(t *testing.T) {
	const rounds, perRound, perBatch = 4, 3, 50
	var (
		mu       sync.Mutex
		attempts = map[int][][]byte{} // round -> bodies of its first request's attempts
		bodies   [][]byte             // delivered
	)
	release, done := make(chan struct{}, rounds), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		series, err := decodeSnappy(b)
		if err != nil || len(series) == 0 {
			t.Errorf("the server got a body that does not decode: %v", err)
			w.WriteHeader(http.StatusBadRequest) // dropped: the sample check fails too
			return
		}
		round := int(math.Float64frombits(series[0].Samples[0].Bits)) / 1000
		first := int(math.Float64frombits(series[0].Samples[0].Bits))%1000 == 0
		mu.Lock()
		if first {
			attempts[round] = append(attempts[round], b)
		}
		n := len(attempts[round])
		mu.Unlock()
		if first && n == 1 {
			select { // the other batches of the round are encoded meanwhile
			case <-release:
			case <-done:
			}
		}
		if first && n <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	cfg := configFor(srv.URL)
	s := fastSink(t, cfg, sinks.Settings{})
	m := sinks.NewMetrics(nil)
	r := sinks.NewRunner(s, sinks.RunnerConfig{MaxBatchSamples: perBatch, FlushInterval: time.Hour}, m.Settings("rw", nil, "promfwd/test"), m)
	r.Start(context.Background())
	defer func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a failed test stops at once
		r.Stop(ctx)
	}()
	defer close(done)

	batch := func(round, b int) []scrape.Sample {
		out := make([]scrape.Sample, perBatch)
		for i := range out {
			// The value names the round, the batch and the sample.
			out[i] = smp("rec", 1_700_000_000_000, float64(round*1000+b*100+i), "i", fmt.Sprint(i), "pad", "xxxxxxxxxxxxxxxxxxxxxxxx")
		}
		return out
	}
	for round := range rounds {
		r.Submit(batch(round, 0))
		waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(attempts[round]) == 1 })
		for b := 1; b < perRound; b++ {
			r.Submit(batch(round, b))
		}
		waitFor(t, func() bool { return r.Stats().QueuedRequests == perRound-1 })
		release <- struct{}{}
		waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(bodies) == (round+1)*perRound })
	}
	mu.Lock()
	defer mu.Unlock()
	for round, as := range attempts {
		if len(as) != 3 {
			t.Errorf("round %d: first request sent %d times, want 3", round, len(as))
		}
		for i, a := range as[1:] {
			if !bytes.Equal(a, as[0]) {
				t.Errorf("round %d: attempt %d sent other bytes than the first", round, i+2)
			}
		}
	}
	var got []int
	for _, b := range bodies {
		for _, ser := range decodeBody(t, b) {
			for _, smp := range ser.Samples {
				got = append(got, int(math.Float64frombits(smp.Bits)))
			}
		}
	}
	slices.Sort(got)
	var want []int
	for round := range rounds {
		for b := range perRound {
			for i := range perBatch {
				want = append(want, round*1000+b*100+i)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %d samples, want %d (or other values)", len(got), len(want))
	}
	if n, by := s.enc.bodies.Stats(); n == 0 || n > sinks.DefaultBodyPoolCount || by > sinks.DefaultBodyPoolBytes {
		t.Errorf("body pool holds %d buffers, %d bytes after the run", n, by)
	}
}

func decodeSnappy(b []byte) ([]wireSeries, error) {
	raw, err := snappy.Decode(nil, b)
	if err != nil {
		return nil, err
	}
	return decodeWriteRequest(raw)
}

// waitFor polls cond; the deadline only guards against a hung test.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
