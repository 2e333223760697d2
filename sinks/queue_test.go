package sinks

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func req(body string, samples int, shard uint32) Request {
	return Request{Body: []byte(body), Samples: samples, Shard: shard}
}

func bodies(reqs []Request) string {
	var b []string
	for _, r := range reqs {
		b = append(b, string(r.Body))
	}
	return strings.Join(b, ",")
}

func TestMemoryQueueEvictsOldestAcrossLanes(t *testing.T) {
	tests := []struct {
		name        string
		maxBytes    int64
		pushes      []Request
		lanes       []int
		wantEvicted string
		wantDrain   string
	}{
		{"under bound", 10, []Request{req("aa", 1, 0), req("bb", 1, 0)}, []int{0, 1}, "", "aa,bb"},
		{"exact bound", 4, []Request{req("aa", 1, 0), req("bb", 1, 0)}, []int{0, 1}, "", "aa,bb"},
		{"oldest of any lane", 4, []Request{req("aa", 1, 0), req("bb", 1, 0), req("cc", 1, 0)}, []int{1, 0, 0}, "aa", "bb,cc"},
		{"several to fit", 5, []Request{req("a", 1, 0), req("b", 1, 0), req("c", 1, 0), req("ddddd", 1, 0)}, []int{0, 1, 0, 1}, "a,b,c", "ddddd"},
		{"newest kept even if alone too big", 2, []Request{req("a", 1, 0), req("bbbb", 1, 0)}, []int{0, 0}, "a", "bbbb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := NewMemoryQueue(tc.maxBytes, 2, nil)
			var evicted []Request
			for i, r := range tc.pushes {
				evicted = append(evicted, q.Push(r, tc.lanes[i])...)
			}
			if got := bodies(evicted); got != tc.wantEvicted {
				t.Errorf("evicted %q, want %q", got, tc.wantEvicted)
			}
			st := q.Stats()
			if st.Bytes > tc.maxBytes && st.Requests > 1 {
				t.Errorf("queue holds %d bytes over bound %d", st.Bytes, tc.maxBytes)
			}
			if got := bodies(q.Drain()); got != tc.wantDrain {
				t.Errorf("drain %q, want %q", got, tc.wantDrain)
			}
			if st := q.Stats(); st != (QueueStats{}) {
				t.Errorf("stats after drain = %+v, want zero", st)
			}
		})
	}
}

func TestMemoryQueuePopPerLaneFIFO(t *testing.T) {
	q := NewMemoryQueue(1<<20, 3, nil)
	for i, b := range []string{"a0", "b1", "c0", "d2", "e1", "f0"} {
		q.Push(req(b, 1, 0), []int{0, 1, 0, 2, 1, 0}[i])
	}
	// Lane indexes are reduced modulo the lane count.
	q.Push(req("g1", 1, 0), 4)
	want := map[int]string{0: "a0,c0,f0", 1: "b1,e1,g1", 2: "d2"}
	q.Close()
	for lane, w := range want {
		var got []Request
		for {
			r, _, err := q.Pop(context.Background(), lane)
			if errors.Is(err, ErrQueueClosed) {
				break
			}
			if err != nil {
				t.Fatalf("lane %d: %v", lane, err)
			}
			got = append(got, r)
		}
		if bodies(got) != w {
			t.Errorf("lane %d popped %q, want %q", lane, bodies(got), w)
		}
	}
}

func TestMemoryQueuePopBlocksUntilPush(t *testing.T) {
	q := NewMemoryQueue(1<<20, 2, nil)
	got := make(chan string)
	go func() {
		r, _, err := q.Pop(context.Background(), 1)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(r.Body)
	}()
	q.Push(req("other-lane", 1, 0), 0)
	q.Push(req("mine", 1, 0), 1)
	if g := <-got; g != "mine" {
		t.Fatalf("Pop returned %q, want mine", g)
	}
}

func TestMemoryQueuePopEnds(t *testing.T) {
	t.Run("context cancelled", func(t *testing.T) {
		q := NewMemoryQueue(1<<20, 1, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			_, _, err := q.Pop(ctx, 0)
			done <- err
		}()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Pop = %v, want context.Canceled", err)
		}
	})
	t.Run("cancelled context wins over queued requests", func(t *testing.T) {
		q := NewMemoryQueue(1<<20, 1, nil)
		q.Push(req("x", 1, 0), 0)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, _, err := q.Pop(ctx, 0); !errors.Is(err, context.Canceled) {
			t.Fatalf("Pop = %v, want context.Canceled", err)
		}
		if q.Stats().Requests != 1 {
			t.Fatal("request was consumed by a cancelled Pop")
		}
	})
	t.Run("closed wakes a blocked pop", func(t *testing.T) {
		q := NewMemoryQueue(1<<20, 1, nil)
		done := make(chan error)
		go func() {
			_, _, err := q.Pop(context.Background(), 0)
			done <- err
		}()
		q.Close()
		q.Close() // idempotent
		if err := <-done; !errors.Is(err, ErrQueueClosed) {
			t.Fatalf("Pop = %v, want ErrQueueClosed", err)
		}
	})
}

func TestMemoryQueueStats(t *testing.T) {
	now := time.Unix(1000, 0)
	q := NewMemoryQueue(1<<20, 2, func() time.Time { return now })
	q.Push(req("aaa", 3, 0), 1)
	now = now.Add(time.Second)
	q.Push(req("bb", 2, 0), 0)
	want := QueueStats{Requests: 2, Bytes: 5, Samples: 5, Oldest: time.Unix(1000, 0), MemoryRequests: 2, MemoryBytes: 5}
	if st := q.Stats(); st != want {
		t.Fatalf("Stats = %+v, want %+v", st, want)
	}
	r, at, err := q.Pop(context.Background(), 1)
	if err != nil || string(r.Body) != "aaa" || !at.Equal(time.Unix(1000, 0)) {
		t.Fatalf("Pop = %q, %v, %v", r.Body, at, err)
	}
	want = QueueStats{Requests: 1, Bytes: 2, Samples: 2, Oldest: time.Unix(1001, 0), MemoryRequests: 1, MemoryBytes: 2}
	if st := q.Stats(); st != want {
		t.Fatalf("Stats = %+v, want %+v", st, want)
	}
}

func TestMemoryQueueCompactsLongLanes(t *testing.T) {
	q := NewMemoryQueue(1<<30, 1, nil)
	ctx := context.Background()
	next := 0
	for i := range 1000 {
		q.Push(req(strings.Repeat("x", i%7+1), 1, 0), 0)
		if i%3 != 0 { // pop two of every three pushes: the lane keeps growing and compacting
			r, _, err := q.Pop(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if want := next%7 + 1; len(r.Body) != want {
				t.Fatalf("pop %d: body length %d, want %d (FIFO order broken)", next, len(r.Body), want)
			}
			next++
		}
	}
	rest := q.Drain()
	if len(rest)+next != 1000 {
		t.Fatalf("popped %d + drained %d != 1000", next, len(rest))
	}
	for i, r := range rest {
		if want := (next+i)%7 + 1; len(r.Body) != want {
			t.Fatalf("drain %d: body length %d, want %d", i, len(r.Body), want)
		}
	}
}
