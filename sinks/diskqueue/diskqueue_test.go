package diskqueue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/promfwd/promfwd/sinks"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func req(body string, samples int, shard uint32) sinks.Request {
	return sinks.Request{Body: []byte(body), Samples: samples, Shard: shard}
}

func open(t *testing.T, dir string, o Options) *Queue {
	t.Helper()
	q, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = q.Release() })
	return q
}

// pop pops one committed request of lane, failing after a generous deadline.
func pop(t *testing.T, q *Queue, lane int) sinks.Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, _, err := q.Pop(ctx, lane)
	if err != nil {
		t.Fatalf("Pop(%d): %v", lane, err)
	}
	return r
}

// popAll pops and acknowledges everything committed on lane 0.
func popAll(q *Queue) []string {
	var out []string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		r, _, err := q.Pop(ctx, 0)
		cancel()
		if err != nil {
			return out
		}
		out = append(out, string(r.Body))
		q.Done(0)
	}
}

func pushCommit(q *Queue, reqs ...sinks.Request) {
	for _, r := range reqs {
		q.Push(r, int(r.Shard))
	}
	q.Commit(q.LastSeq())
}

func TestReplayAfterRestartSkipsDelivered(t *testing.T) {
	tests := []struct {
		name      string
		pushes    []string
		deliver   int // delivered (Done) before the restart
		inflight  bool
		wantAfter string
	}{
		{"nothing delivered", []string{"a", "b", "c"}, 0, false, "a,b,c"},
		{"some delivered", []string{"a", "b", "c"}, 2, false, "c"},
		{"all delivered", []string{"a", "b"}, 2, false, ""},
		{"in flight at stop is replayed", []string{"a", "b", "c"}, 1, true, "b,c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q := open(t, dir, Options{SegmentBytes: 64})
			for _, b := range tc.pushes {
				pushCommit(q, req(b, 1, 0))
			}
			for range tc.deliver {
				pop(t, q, 0)
				q.Done(0)
			}
			if tc.inflight {
				pop(t, q, 0) // never Done: the sender gave up at stop
			}
			if err := q.Release(); err != nil {
				t.Fatal(err)
			}
			q2 := open(t, dir, Options{SegmentBytes: 64})
			if got := strings.Join(popAll(q2), ","); got != tc.wantAfter {
				t.Fatalf("after restart got %q, want %q", got, tc.wantAfter)
			}
		})
	}
}

func TestCommitGatesPop(t *testing.T) {
	q := open(t, t.TempDir(), Options{})
	q.Push(req("a", 1, 0), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	_, _, err := q.Pop(ctx, 0)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Pop before Commit = %v, want deadline exceeded", err)
	}
	done := make(chan string)
	go func() { r, _, _ := q.Pop(context.Background(), 0); done <- string(r.Body) }()
	q.Commit(q.LastSeq())
	if got := <-done; got != "a" {
		t.Fatalf("Pop after Commit = %q", got)
	}
}

func TestDropAfterSeqDiscardsUncheckpointed(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, Options{})
	pushCommit(q, req("a", 1, 0), req("b", 2, 0))
	ckpt := q.LastSeq()
	q.Push(req("c", 3, 0), 0) // after the checkpoint: its state was never saved
	q.Push(req("d", 4, 0), 0)
	_ = q.Release()

	q2 := open(t, dir, Options{DropAfter: true, DropAfterSeq: ckpt, MinSeq: ckpt})
	if got := strings.Join(popAll(q2), ","); got != "a,b" {
		t.Fatalf("got %q, want a,b", got)
	}
	if q2.LastSeq() < 4 {
		t.Fatalf("LastSeq = %d: sequence numbers must not be reused", q2.LastSeq())
	}
	_ = q2.Release()
	q3 := open(t, dir, Options{})
	if got := popAll(q3); len(got) != 0 {
		t.Fatalf("discarded requests came back: %q", got)
	}
}

func TestEvictsOldestWholeRequests(t *testing.T) {
	dir := t.TempDir()
	rec := int64(headerLen + requestFixed + 10) // one 10-byte body
	q := open(t, dir, Options{MaxBytes: 3 * rec, SegmentBytes: 2 * rec})
	var evicted []sinks.Request
	for i := range 6 {
		evicted = append(evicted, q.Push(req(fmt.Sprintf("body%06d", i), i+1, uint32(i%2)), i%2)...)
	}
	q.Commit(q.LastSeq())
	samples := 0
	for _, e := range evicted {
		samples += e.Samples
	}
	if len(evicted) != 3 || samples != 1+2+3 {
		t.Fatalf("evicted %d requests / %d samples, want the 3 oldest (6 samples)", len(evicted), samples)
	}
	st := q.Stats()
	if st.Requests != 3 || st.Bytes > 3*rec || st.Samples != 4+5+6 {
		t.Fatalf("stats = %+v", st)
	}
	_ = q.Release()
	q2 := open(t, dir, Options{MaxBytes: 3 * rec, Lanes: 1})
	if got := strings.Join(popAll(q2), ","); got != "body000003,body000004,body000005" {
		t.Fatalf("after restart got %q", got)
	}
	// Every segment whose requests are all done is gone but the active one.
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) > 2 {
		t.Fatalf("%d segment files left: %v", len(segs), segs)
	}
}

func TestBodiesBeyondMemoryBoundReadFromDisk(t *testing.T) {
	q := open(t, t.TempDir(), Options{MemoryBytes: 20})
	for i := range 5 {
		q.Push(req(strings.Repeat(string(rune('a'+i)), 10), 1, 0), 0)
	}
	q.Commit(q.LastSeq())
	st := q.Stats()
	if st.MemoryBytes > 20 || st.MemoryRequests != 2 || st.DiskRequests != 5 || st.DiskBytes == 0 {
		t.Fatalf("stats = %+v", st)
	}
	got := popAll(q)
	want := []string{"aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc", "dddddddddd", "eeeeeeeeee"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q", got)
	}
}

func TestCorruptAndTruncatedDataSkipped(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(b []byte) []byte
		want    string
		logFrag string
	}{
		{"torn tail", func(b []byte) []byte { return b[:len(b)-5] }, "r0,r1,r2,r3", "skipping corrupt or truncated data"},
		{"flipped byte in the middle", func(b []byte) []byte {
			b[recordOffset(b, 1)+headerLen+requestFixed] ^= 0xff
			return b
		}, "r0,r2,r3,r4", "skipping corrupt or truncated data"},
		{"garbage length", func(b []byte) []byte {
			copy(b[recordOffset(b, 2):], []byte{0xff, 0xff, 0xff, 0x7f})
			return b
		}, "r0,r1,r3,r4", "skipping corrupt or truncated data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q := open(t, dir, Options{})
			for i := range 5 {
				q.Push(req(fmt.Sprintf("r%d", i), 1, 0), 0)
			}
			_ = q.Release()
			segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
			path := segs[len(segs)-1]
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, tc.damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			core, logs := observer.New(zap.InfoLevel)
			q2 := open(t, dir, Options{Logger: zap.New(core)})
			if got := strings.Join(popAll(q2), ","); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			skips := logs.FilterMessage("disk queue: skipping corrupt or truncated data").All()
			if len(skips) != 1 {
				t.Fatalf("want one skip log line, got %d: %v", len(skips), logs.All())
			}
			f := skips[0].ContextMap()
			if f["file"] != path || f["bytes"].(int64) <= 0 {
				t.Fatalf("skip log fields = %v", f)
			}
		})
	}
}

// recordOffset returns the offset of the i-th record in a segment.
func recordOffset(b []byte, i int) int {
	off := 0
	for range i {
		_, n, err := parseRecord(b[off:])
		if err != nil {
			panic(err)
		}
		off += n
	}
	return off
}

func TestSecondOpenOfSameDirFails(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, Options{})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}

func TestCloseEndsPopWhenEmpty(t *testing.T) {
	q := open(t, t.TempDir(), Options{})
	pushCommit(q, req("a", 1, 0))
	q.Close()
	if r := pop(t, q, 0); !bytes.Equal(r.Body, []byte("a")) {
		t.Fatalf("Pop after Close = %q", r.Body)
	}
	q.Done(0)
	if _, _, err := q.Pop(context.Background(), 0); !errors.Is(err, sinks.ErrQueueClosed) {
		t.Fatalf("Pop on closed empty queue = %v", err)
	}
}

func TestParseRecordRejectsGarbage(t *testing.T) {
	good := appendRequest(nil, 7, 3, 2, 99, []byte("body"))
	r, n, err := parseRecord(good)
	if err != nil || n != len(good) || r.seq != 7 || r.shard != 3 || r.samples != 2 || r.atNs != 99 || string(r.body) != "body" {
		t.Fatalf("parse good = %+v %d %v", r, n, err)
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x01
		if _, _, err := parseRecord(bad); err == nil {
			t.Fatalf("bit flip at byte %d not detected", i)
		}
	}
	for cut := range len(good) {
		if _, _, err := parseRecord(good[:cut]); err == nil {
			t.Fatalf("truncation to %d bytes not detected", cut)
		}
	}
}

// TestDoneRecordsKeptWhileTheirRequestsAreOnDisk: a segment whose own
// requests are all delivered still holds the delivery marks of requests
// in an older segment that is kept (another lane is stuck on it); deleting
// it would replay those requests after a restart.
func TestDoneRecordsKeptWhileTheirRequestsAreOnDisk(t *testing.T) {
	dir := t.TempDir()
	rec := int64(headerLen + requestFixed + 1)
	o := Options{Lanes: 2, SegmentBytes: 2 * rec}
	q := open(t, dir, o)
	// seg0: A (lane 0, never delivered), D (lane 1).
	pushCommit(q, req("A", 1, 0), req("D", 1, 1))
	// seg1: E, F (lane 1).
	pushCommit(q, req("E", 1, 1), req("F", 1, 1))
	for range 3 { // D, E, F delivered: their marks go to seg2
		pop(t, q, 1)
		q.Done(1)
	}
	// seg2 fills with G, H (lane 1), which are delivered too: seg2 has no
	// live request but holds the mark of D, which lives in seg0.
	pushCommit(q, req("G", 1, 1), req("H", 1, 1))
	for range 2 {
		pop(t, q, 1)
		q.Done(1)
	}
	_ = q.Release()
	q2 := open(t, dir, o)
	var got []string
	for lane := range 2 {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			r, _, err := q2.Pop(ctx, lane)
			cancel()
			if err != nil {
				break
			}
			got = append(got, string(r.Body))
			q2.Done(lane)
		}
	}
	if strings.Join(got, ",") != "A" {
		t.Fatalf("after restart got %q, want only the undelivered A", got)
	}
}

// TestMemoryBoundedWhileDiskGrows: with a backlog far larger than the
// memory bound, the heap holds the cached bodies (up to MemoryBytes) and a
// small index entry per request, not the backlog.
func TestMemoryBoundedWhileDiskGrows(t *testing.T) {
	const (
		body    = 16 << 10
		backlog = 64 << 20
		memory  = 4 << 20
	)
	q := open(t, t.TempDir(), Options{MaxBytes: 1 << 30, MemoryBytes: memory})
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	for range backlog / body {
		q.Push(sinks.Request{Body: make([]byte, body), Samples: 100}, 0)
	}
	grown := int64(heap()) - int64(before)
	st := q.Stats()
	t.Logf("backlog %d MiB on disk in %d requests; heap grew %.1f MiB (memory bound %d MiB)",
		st.DiskBytes>>20, st.DiskRequests, float64(grown)/(1<<20), memory>>20)
	if st.DiskBytes < backlog || st.MemoryBytes > memory {
		t.Fatalf("stats = %+v", st)
	}
	if grown > memory+2<<20 {
		t.Fatalf("heap grew %d bytes for a %d-byte memory bound", grown, memory)
	}
}
