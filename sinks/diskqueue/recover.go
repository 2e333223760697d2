package diskqueue

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// recover scans every segment in the directory, oldest first, and rebuilds
// the lanes from the request records that have no done record. Damaged
// regions are skipped up to the next record that checks out.
func (q *Queue) recover() error {
	names, err := os.ReadDir(q.dir)
	if err != nil {
		return fmt.Errorf("diskqueue: read %s: %w", q.dir, err)
	}
	var ids []uint64
	for _, d := range names {
		name := d.Name()
		if d.IsDir() || !strings.HasSuffix(name, ".seg") {
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 16, 64)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)

	var pending, damaged []*entry
	done := map[uint64]bool{}
	maxSeq := q.opts.MinSeq
	skipped := 0
	for _, id := range ids {
		q.nextSeg = id + 1
		seg, recs, bad, lost, err := q.scanSegment(id)
		if err != nil {
			return err
		}
		skipped += bad
		damaged = append(damaged, lost...)
		q.segs = append(q.segs, seg)
		q.diskBytes += seg.size
		for _, r := range recs {
			maxSeq = max(maxSeq, r.seq)
			if r.body == nil {
				done[r.seq] = true
				if seg.minAckRef == 0 || r.seq < seg.minAckRef {
					seg.minAckRef = r.seq
				}
				continue
			}
			pending = append(pending, r)
		}
	}
	q.seq = maxSeq

	var dropped []*entry
	for _, e := range pending {
		if done[e.seq] {
			e.body = nil
			continue
		}
		e.seg.live++
		if e.seg.firstSeq == 0 {
			e.seg.firstSeq = e.seq
		}
		e.seg.lastSeq = e.seq
		if q.opts.DropAfter && e.seq > q.opts.DropAfterSeq {
			dropped = append(dropped, e)
			continue
		}
		if q.memBytes+int64(len(e.body)) <= q.opts.MemoryBytes {
			e.body = slices.Clone(e.body) // do not pin the segment buffer
			q.memBytes += int64(len(e.body))
			q.memCount++
		} else {
			e.body = nil
		}
		l := &q.lanes[q.laneOf(e.shard)]
		l.items.Push(e)
		q.bytes += e.size
		q.samples += e.samples
		q.count++
	}
	// Damaged requests are lost unless a done record says they were already
	// delivered, or they were to be discarded and re-derived anyway.
	for _, e := range damaged {
		if !done[e.seq] && (!q.opts.DropAfter || e.seq <= q.opts.DropAfterSeq) {
			q.lostSamples += e.samples
		}
	}
	if len(pending) > 0 || skipped > 0 {
		q.log.Info("disk queue recovered", zap.String("dir", q.dir), zap.Int("requests", q.count),
			zap.Int("samples", q.samples), zap.Int64("bytes", q.bytes), zap.Int("corrupt_regions", skipped),
			zap.Int("corrupt_samples_lost", q.lostSamples))
	}
	if len(dropped) > 0 {
		n := 0
		for _, e := range dropped {
			n += e.samples
		}
		q.log.Warn("disk queue: discarding requests queued after the last saved checkpoint; the restored sink state re-derives them",
			zap.String("dir", q.dir), zap.Int("requests", len(dropped)), zap.Int("samples", n),
			zap.Uint64("checkpoint_seq", q.opts.DropAfterSeq))
		q.pendingDrop = dropped
	}
	return nil
}

// finishRecovery writes done records for the requests recover decided to
// discard; it runs once the active segment exists.
func (q *Queue) finishRecovery() {
	for _, e := range q.pendingDrop {
		e.body = nil
		q.markDoneLocked(e, reasonDiscarded)
	}
	q.pendingDrop = nil
	q.gcLocked()
}

// scanSegment reads one segment file and returns its records (request
// records as entries with body set, done records with body nil) and the
// number of damaged regions it skipped, with the request each region
// claims to start with, if its header is plausible (seq and samples only).
func (q *Queue) scanSegment(id uint64) (*segment, []*entry, int, []*entry, error) {
	path := q.segPath(id)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, 0, nil, fmt.Errorf("diskqueue: open %s: %w", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		_ = f.Close()
		return nil, nil, 0, nil, fmt.Errorf("diskqueue: read %s: %w", path, err)
	}
	seg := &segment{id: id, path: path, f: f, size: int64(len(b))}
	var out, lost []*entry
	bad := 0
	for off := 0; off < len(b); {
		r, n, err := parseRecord(b[off:])
		if err != nil {
			skip := resync(b[off:])
			bad++
			samples := -1 // unknown
			if seq, s, ok := salvageSamples(b[off:]); ok {
				samples = s
				lost = append(lost, &entry{seq: seq, samples: s})
			}
			q.log.Warn("disk queue: skipping corrupt or truncated data", zap.String("file", path),
				zap.Int("offset", off), zap.Int("bytes", skip), zap.Int("samples", samples))
			off += skip
			continue
		}
		e := &entry{seq: r.seq, seg: seg, off: int64(off), size: int64(n)}
		if r.typ == recRequest {
			e.samples, e.shard, e.atNs = r.samples, r.shard, r.atNs
			e.body = r.body
			if e.body == nil {
				e.body = []byte{}
			}
		}
		out = append(out, e)
		off += n
	}
	return seg, out, bad, lost, nil
}
