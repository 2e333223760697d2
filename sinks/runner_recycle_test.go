package sinks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// poolSink is a fakeSink whose bodies come from a BodyPool, as the real
// encoders' do. It knows what every body it handed out must hold until it
// is recycled, and records a violation when a body is handed out again
// while still held (released too early), when Send or Recycle sees bytes
// that changed, or when a body is recycled twice.
type poolSink struct {
	*fakeSink
	pool *BodyPool

	mu       sync.Mutex
	held     map[*byte]string
	recycled []string
	bad      []string
}

func newPoolSink() *poolSink {
	return &poolSink{fakeSink: newFakeSink(), pool: NewBodyPool(4, 1<<20), held: map[*byte]string{}}
}

func addrOf(b []byte) *byte { return &b[:1][0] }

func (p *poolSink) Encode(samples []scrape.Sample) (Encoded, error) {
	enc, err := p.fakeSink.Encode(samples)
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range enc.Requests {
		body := p.pool.Get(len(r.Body))
		copy(body, r.Body)
		if old, ok := p.held[addrOf(body)]; ok {
			p.bad = append(p.bad, fmt.Sprintf("encode %q reused the body of %q, still held", r.Body, old))
		}
		p.held[addrOf(body)] = string(r.Body)
		enc.Requests[i].Body = body
	}
	return enc, err
}

func (p *poolSink) check(what string, body []byte) {
	if want, ok := p.held[addrOf(body)]; !ok {
		p.bad = append(p.bad, fmt.Sprintf("%s of a body not held: %q", what, body))
	} else if string(body) != want {
		p.bad = append(p.bad, fmt.Sprintf("%s saw %q, encoded as %q", what, body, want))
	}
}

func (p *poolSink) Send(ctx context.Context, req Request) error {
	p.mu.Lock()
	p.check("send", req.Body)
	p.mu.Unlock()
	return p.fakeSink.Send(ctx, req)
}

func (p *poolSink) Recycle(body []byte) {
	p.mu.Lock()
	p.check("recycle", body)
	p.recycled = append(p.recycled, string(body))
	delete(p.held, addrOf(body))
	p.mu.Unlock()
	p.pool.Put(body)
}

func (p *poolSink) report() (recycled, bad []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.recycled), slices.Clone(p.bad)
}

// waitRecycled polls until n bodies were recycled (the sender recycles
// after it reported the delivery).
func waitRecycled(t *testing.T, p *poolSink, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rec, _ := p.report()
		if len(rec) >= n || time.Now().After(deadline) {
			return rec
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRunnerRecyclesBodies: the Runner hands a body back exactly when it is
// done with it for good (delivered, rejected, evicted from the memory
// queue), never while a retry, the queue or Stop's leftovers still hold it,
// and never with a durable queue. Bodies encoded meanwhile come from the
// same pool, so an early release shows up as a reused body.
func TestRunnerRecyclesBodies(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, ps *poolSink) (wantRecycled []string)
	}{
		{"retried request kept until delivered while others are encoded", func(t *testing.T, ps *poolSink) []string {
			failed := make(chan struct{}, 1)
			fails := 2
			ps.send = func(_ context.Context, req Request) error {
				if string(req.Body) == "a0" && fails > 0 {
					fails--
					failed <- struct{}{}
					return errors.New("503 service unavailable")
				}
				return nil
			}
			r := startRunner(t, ps, RunnerConfig{MaxBatchSamples: 1, RetryWaitMin: time.Second, RetryWaitMax: time.Second})
			r.Submit(gauges("a", 1))
			for i := range 2 {
				select {
				case <-failed:
				case <-time.After(30 * time.Second):
					t.Fatal("a0 was not retried (its body changed?)")
				}
				r.waitTimers(t, 1) // a0 waits to be retried
				r.Submit(gauges(fmt.Sprintf("b%d_", i), 3))
				waitEncoded(t, ps, 1+3*(i+1))
				r.clock.Advance(time.Second)
			}
			waitDelivered(t, ps.fakeSink, 7)
			waitRecycled(t, ps, 7)
			return []string{"a0", "b0_0", "b0_1", "b0_2", "b1_0", "b1_1", "b1_2"}
		}},
		{"rejected request recycled, then its buffer reused", func(t *testing.T, ps *poolSink) []string {
			ps.send = func(_ context.Context, req Request) error {
				if string(req.Body) == "a0" {
					return &PermanentError{Status: 400, Reason: "bad"}
				}
				return nil
			}
			r := startRunner(t, ps, RunnerConfig{MaxBatchSamples: 1})
			r.Submit(gauges("a", 1))
			waitRecycled(t, ps, 1)
			r.Submit(gauges("b", 1))
			waitDelivered(t, ps.fakeSink, 1)
			waitRecycled(t, ps, 2)
			return []string{"a0", "b0"}
		}},
		{"evicted requests recycled, the one in flight kept", func(t *testing.T, ps *poolSink) []string {
			entered, unblock := make(chan struct{}), make(chan struct{})
			ps.send = func(_ context.Context, req Request) error {
				if string(req.Body) == "a0" {
					close(entered)
					<-unblock
				}
				return nil
			}
			// Two bodies of 5 bytes fit; a third evicts the oldest queued.
			r := startRunner(t, ps, RunnerConfig{MaxBatchSamples: 1, MaxQueueBytes: 10})
			r.Submit(gauges("a", 1))
			<-entered
			r.Submit(gauges("q000", 6)) // q0000..q0005: the first four are evicted
			waitEncoded(t, ps, 7)
			rec := waitRecycled(t, ps, 4)
			if !slices.Equal(rec, []string{"q0000", "q0001", "q0002", "q0003"}) {
				t.Errorf("recycled while a0 is in flight: %q", rec)
			}
			close(unblock)
			waitDelivered(t, ps.fakeSink, 3)
			waitRecycled(t, ps, 7)
			return []string{"q0000", "q0001", "q0002", "q0003", "a0", "q0004", "q0005"}
		}},
		{"undelivered at stop: leftovers not recycled", func(t *testing.T, ps *poolSink) []string {
			failed := make(chan struct{}, 1)
			ps.send = func(context.Context, Request) error {
				select {
				case failed <- struct{}{}:
				default:
				}
				return errors.New("connection refused")
			}
			r := startRunner(t, ps, RunnerConfig{MaxBatchSamples: 1, FlushInterval: time.Hour})
			r.Submit(gauges("a", 3))
			<-failed
			r.waitTimers(t, 1)
			left := r.Stop(context.Background())
			if b := bodies(left); b != "a0,a1,a2" {
				t.Fatalf("leftovers %q", b)
			}
			ps.mu.Lock()
			for _, q := range left {
				ps.check("leftover", q.Body)
			}
			ps.mu.Unlock()
			return nil
		}},
		{"durable queue: nothing recycled", func(t *testing.T, ps *poolSink) []string {
			q := newRecordingQueue()
			r := startRunner(t, ps, RunnerConfig{MaxBatchSamples: 1, Queue: q})
			r.Submit(gauges("a", 3))
			waitDelivered(t, ps.fakeSink, 3)
			r.Stop(context.Background())
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := newPoolSink()
			want := tc.run(t, ps)
			rec, bad := ps.report()
			for _, b := range bad {
				t.Error(b)
			}
			slices.Sort(rec)
			slices.Sort(want)
			if !slices.Equal(rec, want) {
				t.Errorf("recycled %q, want %q", rec, want)
			}
			if n, by := ps.pool.Stats(); n > 4 || by > 1<<20 {
				t.Errorf("pool holds %d buffers, %d bytes: over its bounds", n, by)
			}
		})
	}
}

// waitEncoded polls until the sink has encoded n chunks.
func waitEncoded(t *testing.T, p *poolSink, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(p.chunkLens()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("encoded %d chunks, want %d", len(p.chunkLens()), n)
		}
		time.Sleep(time.Millisecond)
	}
}
