package sinks

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/promfwd/promfwd/sinks/internal/fifo"
)

// ErrQueueClosed is returned by Queue.Pop once the queue is closed and the
// lane asked for is empty.
var ErrQueueClosed = errors.New("sinks: queue closed")

// QueueStats describes what a Queue holds.
type QueueStats struct {
	Requests int
	Bytes    int64
	Samples  int
	Oldest   time.Time // enqueue time of the oldest request; zero when empty

	// Where the requests are stored. A memory queue holds everything in
	// memory; a disk queue holds every request on disk (in flight
	// included) and caches recent bodies in memory.
	MemoryRequests int
	MemoryBytes    int64
	DiskRequests   int
	DiskBytes      int64 // size of the queue's files
}

// Queue holds encoded requests between a Runner's batcher and its senders.
// It is split into lanes, one per sender; each lane is FIFO, and the byte
// bound applies to all lanes together. The memory implementation is
// MemoryQueue; a disk-backed one can replace it behind this interface.
type Queue interface {
	// Push appends req to lane. If the queue then holds more bytes than its
	// bound, Push removes the oldest whole requests (of any lane; never req
	// itself) and returns them so the caller can count them as dropped.
	Push(req Request, lane int) (evicted []Request)
	// Pop removes the oldest request of lane and returns it with the time it
	// was pushed. It blocks until one is available; it returns ctx.Err()
	// when ctx ends and ErrQueueClosed when the queue is closed and the lane
	// is empty.
	Pop(ctx context.Context, lane int) (Request, time.Time, error)
	// Stats reports the queue's content.
	Stats() QueueStats
	// Drain removes and returns everything queued, oldest first.
	Drain() []Request
	// Close wakes blocked Pops; Pop keeps returning queued requests until
	// the lane is empty. Push after Close still queues (for Drain).
	Close()
}

// DurableQueue is a Queue that stores requests until they are delivered:
// a popped request stays stored (in flight) until Done is called for its
// lane, so a crash or a stop while sending replays it later. The Runner
// calls Done after a request is delivered or rejected for good, never for
// one it gives up on at Stop, and it does not Drain a DurableQueue: what is
// left at Stop stays stored.
type DurableQueue interface {
	Queue
	// Done marks the request in flight on lane as finished.
	Done(lane int)
}

// CorruptReporter is a queue that can find stored requests damaged (a disk
// queue). The Runner registers a handler at NewRunner; the queue calls it
// with the samples of requests lost to corruption, including those found
// before the handler was set (at recovery), and never while holding a lock
// the handler could need.
type CorruptReporter interface {
	OnCorrupt(func(samples int))
}

type queued struct {
	req Request
	seq uint64
	at  time.Time
}

// lane is one FIFO of the queue.
type lane struct {
	items fifo.FIFO[queued]
	ready chan struct{} // capacity 1: "something was pushed"
}

// MemoryQueue is the in-memory Queue, bounded by total body bytes.
type MemoryQueue struct {
	maxBytes int64
	now      func() time.Time

	mu       sync.Mutex
	lanes    []lane
	seq      uint64
	bytes    int64
	samples  int
	count    int
	isClosed bool
	closed   chan struct{}
}

var _ Queue = (*MemoryQueue)(nil)

// NewMemoryQueue returns a queue with the given number of lanes (at least
// one) holding at most maxBytes of request bodies. now stamps enqueue times;
// nil means time.Now.
func NewMemoryQueue(maxBytes int64, lanes int, now func() time.Time) *MemoryQueue {
	if lanes < 1 {
		lanes = 1
	}
	if now == nil {
		now = time.Now
	}
	q := &MemoryQueue{maxBytes: maxBytes, now: now, lanes: make([]lane, lanes), closed: make(chan struct{})}
	for i := range q.lanes {
		q.lanes[i].ready = make(chan struct{}, 1)
	}
	return q
}

// Push implements Queue. lane is reduced modulo the number of lanes.
func (q *MemoryQueue) Push(req Request, laneIdx int) (evicted []Request) {
	l := &q.lanes[q.laneIndex(laneIdx)]
	q.mu.Lock()
	q.seq++
	l.items.Push(queued{req: req, seq: q.seq, at: q.now()})
	q.bytes += int64(len(req.Body))
	q.samples += req.Samples
	q.count++
	for q.bytes > q.maxBytes && q.count > 1 {
		evicted = append(evicted, q.popOldestLocked().req)
	}
	q.mu.Unlock()
	select {
	case l.ready <- struct{}{}:
	default:
	}
	return evicted
}

func (q *MemoryQueue) laneIndex(i int) int {
	i %= len(q.lanes)
	if i < 0 {
		i += len(q.lanes)
	}
	return i
}

// popOldestLocked removes the request with the lowest sequence number.
// The queue must not be empty.
func (q *MemoryQueue) popOldestLocked() queued {
	best := -1
	for i := range q.lanes {
		l := &q.lanes[i]
		if l.items.Len() > 0 && (best < 0 || l.items.Front().seq < q.lanes[best].items.Front().seq) {
			best = i
		}
	}
	return q.takeLocked(&q.lanes[best])
}

func (q *MemoryQueue) takeLocked(l *lane) queued {
	e := l.items.Pop()
	q.bytes -= int64(len(e.req.Body))
	q.samples -= e.req.Samples
	q.count--
	return e
}

// Pop implements Queue.
func (q *MemoryQueue) Pop(ctx context.Context, laneIdx int) (Request, time.Time, error) {
	l := &q.lanes[q.laneIndex(laneIdx)]
	for {
		if err := ctx.Err(); err != nil {
			return Request{}, time.Time{}, err
		}
		q.mu.Lock()
		if l.items.Len() > 0 {
			e := q.takeLocked(l)
			q.mu.Unlock()
			return e.req, e.at, nil
		}
		closed := q.isClosed
		q.mu.Unlock()
		if closed {
			return Request{}, time.Time{}, ErrQueueClosed
		}
		select {
		case <-ctx.Done():
		case <-l.ready:
		case <-q.closed:
		}
	}
}

// Stats implements Queue.
func (q *MemoryQueue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := QueueStats{Requests: q.count, Bytes: q.bytes, Samples: q.samples, MemoryRequests: q.count, MemoryBytes: q.bytes}
	for i := range q.lanes {
		l := &q.lanes[i]
		if l.items.Len() > 0 && (st.Oldest.IsZero() || l.items.Front().at.Before(st.Oldest)) {
			st.Oldest = l.items.Front().at
		}
	}
	return st
}

// Drain implements Queue.
func (q *MemoryQueue) Drain() []Request {
	q.mu.Lock()
	all := make([]queued, 0, q.count)
	for i := range q.lanes {
		l := &q.lanes[i]
		for l.items.Len() > 0 {
			all = append(all, q.takeLocked(l))
		}
	}
	q.mu.Unlock()
	slices.SortFunc(all, func(a, b queued) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Request, len(all))
	for i, e := range all {
		out[i] = e.req
	}
	return out
}

// Close implements Queue. It is safe to call more than once.
func (q *MemoryQueue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.isClosed {
		q.isClosed = true
		close(q.closed)
	}
}
