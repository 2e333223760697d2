package diskqueue

import (
	"fmt"
	"os"

	"go.uber.org/zap"
)

// Segment files: creation, appends, deletion and fsync.

// rotateLocked syncs and closes the active segment for writing and starts
// a new one.
func (q *Queue) rotateLocked() error {
	if n := len(q.segs); n > 0 {
		if err := q.segs[n-1].f.Sync(); err != nil {
			return fmt.Errorf("diskqueue: sync %s: %w", q.segs[n-1].path, err)
		}
	}
	id := q.nextSeg
	q.nextSeg++
	path := q.segPath(id)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("diskqueue: create segment: %w", err)
	}
	q.segs = append(q.segs, &segment{id: id, path: path, f: f})
	q.dirDirty = true
	q.gcLocked()
	return nil
}

// writeLocked appends framed records to the active segment with one write.
func (q *Queue) writeLocked(b []byte) error {
	seg := q.segs[len(q.segs)-1]
	n, err := seg.f.WriteAt(b, seg.size)
	seg.size += int64(n)
	q.diskBytes += int64(n)
	if err != nil {
		if q.writeErr == nil {
			q.log.Error("disk queue write failed; requests stay in memory until restart", zap.String("file", seg.path), zap.Error(err))
		}
		q.writeErr = err
		return err
	}
	return nil
}

// gcLocked deletes inactive segments with no live request whose done
// records are not needed any more: a done record for a request in an older
// segment that is still on disk must stay, or that request would be
// replayed after a restart.
func (q *Queue) gcLocked() {
	kept := q.segs[:0]
	last := len(q.segs) - 1
	for i, s := range q.segs {
		if i == last || s.live > 0 || !q.acksSettled(kept, s) {
			kept = append(kept, s)
			continue
		}
		_ = s.f.Close()
		if err := os.Remove(s.path); err != nil && !os.IsNotExist(err) {
			q.log.Warn("disk queue: remove segment", zap.String("file", s.path), zap.Error(err))
		}
		q.diskBytes -= s.size
		q.dirDirty = true
	}
	clear(q.segs[len(kept):])
	q.segs = kept
}

// acksSettled reports whether none of the older kept segments holds a
// request that s's done records may refer to.
func (q *Queue) acksSettled(older []*segment, s *segment) bool {
	if s.minAckRef == 0 {
		return true
	}
	for _, o := range older {
		if o.lastSeq >= s.minAckRef {
			return false
		}
	}
	return true
}

// Sync flushes the active segment (and the directory, after files were
// created or removed) to stable storage.
func (q *Queue) Sync() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.syncLocked()
}

func (q *Queue) syncLocked() error {
	if q.released {
		return nil
	}
	active := q.segs[len(q.segs)-1]
	if err := active.f.Sync(); err != nil {
		return fmt.Errorf("diskqueue: sync %s: %w", active.path, err)
	}
	if q.dirDirty {
		if d, err := os.Open(q.dir); err == nil {
			_ = d.Sync()
			_ = d.Close()
		}
		q.dirDirty = false
	}
	return nil
}
