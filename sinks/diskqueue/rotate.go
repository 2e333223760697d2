package diskqueue

import (
	"time"

	"go.uber.org/zap"
)

// Rotation retry policy: a failing rotation (disk full, a stray file where
// the next segment goes) is retried after a backoff that doubles from
// rotateRetryMin to rotateRetryMax, and logged at most once per
// rotateLogEvery with the number of failures in between.
const (
	rotateRetryMin = time.Second
	rotateRetryMax = time.Minute
	rotateLogEvery = time.Minute
)

// rotation tracks a failing rotation; zero when rotation works.
type rotation struct {
	retryAt  time.Time
	backoff  time.Duration
	failures int // since the last log line
	lastLog  time.Time
	failing  bool
}

// maybeRotateLocked rotates when the active segment reached SegmentBytes,
// unless a failed rotation's backoff has not passed yet.
func (q *Queue) maybeRotateLocked() {
	if q.segs[len(q.segs)-1].size < q.opts.SegmentBytes {
		return
	}
	now := q.opts.Now()
	r := &q.rot
	if r.failing && now.Before(r.retryAt) {
		return
	}
	err := q.rotateLocked()
	if err == nil {
		if r.failing {
			q.log.Info("disk queue rotation works again", zap.String("dir", q.dir), zap.Int("failures", r.failures))
		}
		*r = rotation{}
		return
	}
	r.failing = true
	r.backoff = min(max(2*r.backoff, rotateRetryMin), rotateRetryMax)
	r.retryAt = now.Add(r.backoff)
	r.failures++
	if r.lastLog.IsZero() || now.Sub(r.lastLog) >= rotateLogEvery {
		q.log.Error("disk queue rotation failed; new requests stay in memory (within max_queue_bytes) until it works",
			zap.String("dir", q.dir), zap.Error(err), zap.Int("failures", r.failures), zap.Duration("retry_in", r.backoff))
		r.lastLog, r.failures = now, 0
	}
}

// segmentFullLocked reports whether the active segment may take no more
// records of size n: only while rotation fails, requests stop at
// SegmentBytes and done records at twice that, so the file stays bounded.
func (q *Queue) segmentFullLocked(n int, isRequest bool) bool {
	if !q.rot.failing {
		return false
	}
	limit := 2 * q.opts.SegmentBytes
	if isRequest {
		limit = q.opts.SegmentBytes
	}
	return q.segs[len(q.segs)-1].size+int64(n) > limit
}
