package diskqueue

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorruptSamplesCounted: the samples of requests lost to damage on
// disk are reported (for dropped_samples_total{reason="corrupt"}), not only
// their bytes; a damaged request already delivered is not counted.
func TestCorruptSamplesCounted(t *testing.T) {
	for _, tc := range []struct {
		name      string
		delivered int // requests popped and acknowledged before the damage
		damage    func(b []byte) []byte
		want      string
		lost      int
	}{
		{"torn tail", 0, func(b []byte) []byte { return b[:len(b)-5] }, "r0,r1,r2,r3", 50},
		{"flipped byte in a body", 0, func(b []byte) []byte {
			b[recordOffset(b, 1)+headerLen+requestFixed] ^= 0xff
			return b
		}, "r0,r2,r3,r4", 20},
		{"flipped byte in a delivered request", 1, func(b []byte) []byte {
			b[recordOffset(b, 0)+headerLen+requestFixed] ^= 0xff
			return b
		}, "r1,r2,r3,r4", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q := open(t, dir, Options{})
			for i := range 5 {
				q.Push(req(fmt.Sprintf("r%d", i), 10*(i+1), 0), 0)
			}
			q.Commit(q.LastSeq())
			for range tc.delivered {
				pop(t, q, 0)
				q.Done(0)
			}
			_ = q.Release()
			segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
			path := segs[0]
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, tc.damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			q2 := open(t, dir, Options{})
			lost := 0
			q2.OnCorrupt(func(n int) { lost += n })
			if got := strings.Join(popAll(q2), ","); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if lost != tc.lost {
				t.Fatalf("lost samples reported = %d, want %d", lost, tc.lost)
			}
		})
	}
}

// TestUnreadableOnPopCounted: a request whose body must be read back from
// disk and fails its check is skipped and its samples reported.
func TestUnreadableOnPopCounted(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, Options{MemoryBytes: 1}) // every body is read back from disk
	lost := 0
	q.OnCorrupt(func(n int) { lost += n })
	for i := range 3 {
		q.Push(req(fmt.Sprintf("body-%d", i), 10*(i+1), 0), 0)
	}
	q.Commit(q.LastSeq())
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	b, _ := os.ReadFile(segs[len(segs)-1])
	f, err := os.OpenFile(segs[len(segs)-1], os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{'X'}, int64(recordOffset(b, 1)+headerLen+requestFixed)); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	if got := strings.Join(popAll(q), ","); got != "body-0,body-2" {
		t.Fatalf("got %q", got)
	}
	if lost != 20 {
		t.Fatalf("lost samples reported = %d, want 20", lost)
	}
}
