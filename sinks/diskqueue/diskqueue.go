// Package diskqueue is the durable sinks.Queue: encoded requests are
// appended to checksummed segment files under one directory per sink, kept
// until the sender reports them delivered (or they are evicted), and
// replayed after a restart or a crash. Recent bodies are also cached in
// memory up to a bound, so a healthy sink never reads its queue back.
//
// Durability policy: every record (request, delivered/evicted mark) is
// written with a single write(2), so a process crash (SIGKILL, OOM kill)
// loses nothing that Push or Done returned from. fsync happens on Sync (the
// forwarder's checkpoint, after each encode cycle), when a segment is
// rotated, and on Release; a power loss can therefore lose the requests
// pushed since the last checkpoint and replay requests delivered since then.
//
// Requests are handed to senders only up to the committed sequence number
// (Commit), so nothing is delivered before the state that produced it (for
// example Datadog counter baselines) has been saved with it.
package diskqueue

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/internal/fifo"
)

// Options configure Open. Zero values take the documented defaults.
type Options struct {
	// MaxBytes bounds the queued request records (framing included); over
	// it the oldest whole requests are evicted.
	MaxBytes int64
	// MemoryBytes bounds the request bodies also kept in memory; default
	// min(MaxBytes/4, 16 MiB). Bodies beyond it are read back from disk.
	MemoryBytes int64
	// Lanes is the number of FIFO lanes (the runner's concurrency).
	Lanes int
	// SegmentBytes is the size at which a new segment file is started;
	// default MaxBytes/16 clamped to [64 KiB, 16 MiB]. The files hold at
	// most MaxBytes + SegmentBytes + one request (plus small done records).
	SegmentBytes int64
	// DropAfterSeq, when DropAfter is set, discards at Open every queued
	// request with a sequence number above it: requests pushed after the
	// last saved checkpoint, whose encoding state was not saved.
	DropAfterSeq uint64
	DropAfter    bool
	// MinSeq: new requests get sequence numbers above it (the checkpoint's
	// sequence), even if every segment holding them was deleted.
	MinSeq uint64
	Now    func() time.Time
	Logger *zap.Logger
}

// entry is one queued request.
type entry struct {
	seq     uint64
	seg     *segment
	off     int64 // offset of the framed record in seg
	size    int64 // framed size
	samples int
	shard   uint32
	atNs    int64
	body    []byte // nil when not cached in memory
}

type segment struct {
	id        uint64
	path      string
	f         *os.File
	size      int64
	live      int    // request records not yet done
	firstSeq  uint64 // of request records; 0 when none
	lastSeq   uint64
	minAckRef uint64 // lowest seq named by a done record in this segment; 0 when none
}

type laneState struct {
	items    fifo.FIFO[*entry]
	inflight *entry
	ready    chan struct{} // capacity 1
}

// Queue is the disk-backed sinks.DurableQueue.
type Queue struct {
	dir  string
	opts Options
	log  *zap.Logger

	mu            sync.Mutex
	lanes         []laneState
	segs          []*segment // oldest first; the last one is active
	nextSeg       uint64
	seq           uint64 // last assigned
	committed     uint64
	bytes         int64 // framed bytes of queued requests (not in flight)
	samples       int
	count         int
	memBytes      int64
	memCount      int
	diskBytes     int64
	inflightN     int
	inflightBytes int64 // framed bytes of the requests in flight
	buf           []byte
	dirDirty      bool
	writeErr      error    // first write error, logged once
	pendingDrop   []*entry // set by recover, written by finishRecovery
	lostSamples   int      // lost to corruption, not yet reported (corrupt.go)
	onCorrupt     func(samples int)
	rot           rotation // a failing rotation's retry state (rotate.go)
	lock          *os.File // holds the directory's flock until Release
	isClosed      bool
	released      bool
	closed        chan struct{}
}

var _ sinks.DurableQueue = (*Queue)(nil)

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	if o.MemoryBytes <= 0 {
		o.MemoryBytes = min(o.MaxBytes/4, 16<<20)
	}
	if o.Lanes < 1 {
		o.Lanes = 1
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = min(max(o.MaxBytes/16, 64<<10), 16<<20)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o
}

// Open recovers the queue stored in dir (creating dir if needed) and starts
// a new active segment. Corrupt or truncated records are skipped and
// logged with file, offset and length; they never make Open fail. Open
// fails only when dir cannot be created or written.
func Open(dir string, opts Options) (*Queue, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("diskqueue: create %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	q := &Queue{dir: dir, opts: opts, log: opts.Logger, lanes: make([]laneState, opts.Lanes), closed: make(chan struct{}), lock: lock}
	for i := range q.lanes {
		q.lanes[i].ready = make(chan struct{}, 1)
	}
	if err := q.recover(); err != nil {
		q.closeFiles()
		return nil, err
	}
	if err := q.rotateLocked(); err != nil {
		q.closeFiles()
		return nil, err
	}
	q.finishRecovery()
	q.committed = q.seq
	return q, nil
}

func (q *Queue) laneOf(shard uint32) int { return int(shard % uint32(len(q.lanes))) }

func (q *Queue) segPath(id uint64) string {
	return filepath.Join(q.dir, fmt.Sprintf("%016x.seg", id))
}

// Push implements sinks.Queue. The request is written to the active
// segment before Push returns; it becomes visible to Pop after Commit.
func (q *Queue) Push(req sinks.Request, _ int) (evicted []sinks.Request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	now := q.opts.Now().UnixNano()
	q.buf = appendRequest(q.buf[:0], q.seq, req.Shard, req.Samples, now, req.Body)
	q.maybeRotateLocked() // a rotation that failed earlier, once its backoff passed
	seg := q.segs[len(q.segs)-1]
	e := &entry{seq: q.seq, seg: seg, off: seg.size, size: int64(len(q.buf)), samples: req.Samples, shard: req.Shard, atNs: now}
	if q.segmentFullLocked(len(q.buf), true) || q.writeLocked(q.buf) != nil {
		e.seg = nil // not on disk: keep the body whatever the memory bound
	}
	if e.seg != nil {
		seg.live++
		if seg.firstSeq == 0 {
			seg.firstSeq = e.seq
		}
		seg.lastSeq = e.seq
	}
	if e.seg == nil || q.memBytes+int64(len(req.Body)) <= q.opts.MemoryBytes {
		e.body = req.Body
		q.memBytes += int64(len(req.Body))
		q.memCount++
	}
	l := &q.lanes[q.laneOf(req.Shard)]
	l.items.Push(e)
	q.bytes += e.size
	q.samples += e.samples
	q.count++
	// Requests in flight count against the bound but are never evicted.
	for q.bytes+q.inflightBytes > q.opts.MaxBytes && q.count > 1 {
		old := q.oldestLocked()
		if old == nil || old.e == e {
			break
		}
		q.removeHeadLocked(old)
		q.markDoneLocked(old.e, reasonEvicted)
		evicted = append(evicted, sinks.Request{Samples: old.e.samples, Shard: old.e.shard})
	}
	q.maybeRotateLocked()
	return evicted
}

type laneHead struct {
	l *laneState
	e *entry
}

// oldestLocked returns the queued (not in flight) request with the lowest seq.
func (q *Queue) oldestLocked() *laneHead {
	var best *laneHead
	for i := range q.lanes {
		l := &q.lanes[i]
		if l.items.Len() > 0 && (best == nil || (*l.items.Front()).seq < best.e.seq) {
			best = &laneHead{l, *l.items.Front()}
		}
	}
	return best
}

// removeHeadLocked takes h's entry off its lane and out of the queued totals.
func (q *Queue) removeHeadLocked(h *laneHead) {
	h.l.items.Pop()
	q.bytes -= h.e.size
	q.samples -= h.e.samples
	q.count--
}

// markDoneLocked records that e needs no delivery any more and frees what
// it held.
func (q *Queue) markDoneLocked(e *entry, reason byte) {
	if e.body != nil {
		q.memBytes -= int64(len(e.body))
		q.memCount--
		e.body = nil
	}
	if e.seg == nil {
		return
	}
	q.buf = appendDone(q.buf[:0], e.seq, reason)
	active := q.segs[len(q.segs)-1]
	// Without room for the done record the request may be replayed after a
	// restart (at-least-once), never lost.
	if !q.segmentFullLocked(len(q.buf), false) && q.writeLocked(q.buf) == nil && (active.minAckRef == 0 || e.seq < active.minAckRef) {
		active.minAckRef = e.seq
	}
	e.seg.live--
	if e.seg.live == 0 {
		q.gcLocked()
	}
}

// Commit makes requests with a sequence number up to seq available to Pop.
func (q *Queue) Commit(seq uint64) {
	q.mu.Lock()
	if seq > q.committed {
		q.committed = seq
	}
	q.mu.Unlock()
	for i := range q.lanes {
		select {
		case q.lanes[i].ready <- struct{}{}:
		default:
		}
	}
}

// LastSeq is the sequence number of the last pushed request.
func (q *Queue) LastSeq() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.seq
}
