package diskqueue

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestRotationFailureThrottledAndBounded: while the next segment cannot be
// created, pushes neither retry the rotation each time (nor log each
// failure) nor grow the active segment past its bound; requests stay
// queued in memory within MaxBytes, and rotation resumes after its backoff.
func TestRotationFailureThrottledAndBounded(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	core, logs := observer.New(zap.InfoLevel)
	const segBytes, maxBytes = 1000, 8000
	q := open(t, dir, Options{SegmentBytes: segBytes, MaxBytes: maxBytes, Now: clock, Logger: zap.New(core)})
	// Directories where the next segment files go make creating them fail
	// (each attempt takes the next id).
	var blockers []string
	for id := q.nextSeg; id < q.nextSeg+600; id++ {
		blockers = append(blockers, q.segPath(id))
		if err := os.Mkdir(q.segPath(id), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	body := strings.Repeat("x", 60)
	for i := range 500 {
		q.Push(req(fmt.Sprintf("%s%03d", body, i), 1, 0), 0)
	}
	if n := logs.FilterMessageSnippet("rotation failed").Len(); n != 1 {
		t.Fatalf("%d rotation failure lines for 500 pushes in one instant, want 1", n)
	}
	active := q.segs[len(q.segs)-1]
	fi, err := os.Stat(active.path)
	if err != nil {
		t.Fatal(err)
	}
	// Requests stop at segBytes (plus the one that crossed it), done
	// records at twice that.
	if fi.Size() > 2*segBytes+100 {
		t.Fatalf("active segment grew to %d bytes while rotation failed; bound %d", fi.Size(), 2*segBytes+100)
	}
	if st := q.Stats(); st.Bytes > maxBytes {
		t.Fatalf("queued %d bytes, over max %d", st.Bytes, maxBytes)
	}

	// The cause goes away and the backoff passes: the next push rotates.
	for _, b := range blockers {
		if err := os.Remove(b); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	now = now.Add(rotateRetryMax)
	mu.Unlock()
	q.Push(req(body+"after", 1, 0), 0)
	if logs.FilterMessage("disk queue rotation works again").Len() != 1 {
		t.Fatalf("rotation did not resume: %v", logs.All())
	}
	if now := q.segs[len(q.segs)-1].path; now == active.path {
		t.Fatalf("active segment still %s after recovery", now)
	} else if _, err := os.Stat(now); err != nil {
		t.Fatal(err)
	}
	q.Commit(q.LastSeq())
	got := popAll(q)
	if len(got) == 0 || got[len(got)-1] != body+"after" {
		t.Fatalf("queue content after recovery ends %q", got[max(0, len(got)-1):])
	}
}
