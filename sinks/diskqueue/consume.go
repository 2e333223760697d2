package diskqueue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/promfwd/promfwd/sinks"
)

// Pop implements sinks.Queue. The request stays stored (in flight) until
// Done(lane); a lane has at most one request in flight, and Pop must not be
// called again for a lane before Done, unless the sender gives up on it
// (it is then replayed after a restart).
func (q *Queue) Pop(ctx context.Context, lane int) (sinks.Request, time.Time, error) {
	l := &q.lanes[lane%len(q.lanes)]
	for {
		if err := ctx.Err(); err != nil {
			return sinks.Request{}, time.Time{}, err
		}
		q.mu.Lock()
		if l.items.Len() > 0 && (*l.items.Front()).seq <= q.committed {
			e := *l.items.Front()
			q.removeHeadLocked(&laneHead{l, e})
			body, err := q.bodyLocked(e)
			if err != nil {
				q.log.Error("disk queue: unreadable request skipped", zap.String("file", e.seg.path),
					zap.Int64("offset", e.off), zap.Int64("bytes", e.size), zap.Int("samples", e.samples), zap.Error(err))
				q.markDoneLocked(e, reasonCorrupt)
				q.lostSamples += e.samples
				q.mu.Unlock()
				q.reportCorrupt()
				continue
			}
			l.inflight = e
			q.inflightN++
			q.inflightBytes += e.size
			q.mu.Unlock()
			return sinks.Request{Body: body, Samples: e.samples, Shard: e.shard}, time.Unix(0, e.atNs), nil
		}
		closed := q.isClosed
		q.mu.Unlock()
		if closed {
			return sinks.Request{}, time.Time{}, sinks.ErrQueueClosed
		}
		select {
		case <-ctx.Done():
		case <-l.ready:
		case <-q.closed:
		}
	}
}

// bodyLocked returns e's body from memory or reads and checks it on disk.
func (q *Queue) bodyLocked(e *entry) ([]byte, error) {
	if e.body != nil {
		return e.body, nil
	}
	b := make([]byte, e.size)
	if _, err := e.seg.f.ReadAt(b, e.off); err != nil {
		return nil, err
	}
	r, _, err := parseRecord(b)
	if err != nil {
		return nil, err
	}
	if r.typ != recRequest || r.seq != e.seq {
		return nil, errCorrupt
	}
	return r.body, nil
}

// Done implements sinks.DurableQueue: the request in flight on lane was
// delivered or rejected for good and is never replayed.
func (q *Queue) Done(lane int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := &q.lanes[lane%len(q.lanes)]
	if e := l.inflight; e != nil {
		l.inflight = nil
		q.inflightN--
		q.inflightBytes -= e.size
		q.markDoneLocked(e, reasonDelivered)
	}
}

// Stats implements sinks.Queue; requests in flight are not counted as
// queued but are counted in DiskRequests.
func (q *Queue) Stats() sinks.QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := sinks.QueueStats{
		Requests: q.count, Bytes: q.bytes, Samples: q.samples,
		MemoryRequests: q.memCount, MemoryBytes: q.memBytes,
		DiskRequests: q.count + q.inflightN, DiskBytes: q.diskBytes,
	}
	if h := q.oldestLocked(); h != nil {
		st.Oldest = time.Unix(0, h.e.atNs)
	}
	return st
}

// Drain implements sinks.Queue: it removes every queued request, marks it
// done on disk and returns it. The Runner does not call it on a durable
// queue (what is left stays stored); it exists for tools and tests.
func (q *Queue) Drain() []sinks.Request {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []sinks.Request
	for h := q.oldestLocked(); h != nil; h = q.oldestLocked() {
		q.removeHeadLocked(h)
		if body, err := q.bodyLocked(h.e); err == nil {
			out = append(out, sinks.Request{Body: body, Samples: h.e.samples, Shard: h.e.shard})
		}
		q.markDoneLocked(h.e, reasonDelivered)
	}
	return out
}

// Close implements sinks.Queue: it wakes blocked Pops. Files stay open
// until Release.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.isClosed {
		q.isClosed = true
		close(q.closed)
	}
}

// Release syncs and closes the segment files; call it once the runner
// using the queue has stopped. The queue must not be used afterwards.
func (q *Queue) Release() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.released {
		return nil
	}
	err := q.syncLocked()
	q.released = true
	q.closeFilesLocked()
	return err
}

func (q *Queue) closeFiles() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closeFilesLocked()
}

func (q *Queue) closeFilesLocked() {
	for _, s := range q.segs {
		_ = s.f.Close()
	}
	if q.lock != nil {
		_ = q.lock.Close() // releases the flock
		q.lock = nil
	}
}

// ErrLocked is returned by Open when another queue (in this process or
// another) has the directory open.
var ErrLocked = errors.New("diskqueue: directory in use")

// lockDir takes an exclusive flock on dir/LOCK so two queues never write
// the same segments.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("diskqueue: lock %s: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("diskqueue: lock %s: %w", dir, err)
	}
	return f, nil
}

// Stored is one request found by Inspect.
type Stored struct {
	Seq     uint64
	Samples int
	Shard   uint32
	Queued  time.Time
	Body    []byte
}

// Inspect reads the queue stored in dir without changing or locking it (the
// owner may be running) and returns the requests still to deliver, oldest
// first. Damaged records are skipped, as Open does; log may be nil.
func Inspect(dir string, log *zap.Logger) ([]Stored, error) {
	o := Options{MaxBytes: 1 << 62, MemoryBytes: 1 << 62, Logger: log}.withDefaults()
	q := &Queue{dir: dir, opts: o, log: o.Logger, lanes: make([]laneState, 1), closed: make(chan struct{})}
	defer q.closeFiles()
	if err := q.recover(); err != nil {
		return nil, err
	}
	var out []Stored
	l := &q.lanes[0]
	for _, e := range l.items.Items() {
		out = append(out, Stored{Seq: e.seq, Samples: e.samples, Shard: e.shard, Queued: time.Unix(0, e.atNs), Body: e.body})
	}
	return out, nil
}
