package aggregate

import (
	"math/rand/v2"
	"testing"
)

// TestSlotIndexAgainstMap drives the index and a Go map with one random
// stream of inserts and removes (growth, backward-shift deletion across the
// table's wrap, shrinking after churn) and checks every lookup agrees.
func TestSlotIndexAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var x slotIndex
	var core column[seriesCore]
	want := map[uint64]uint32{}
	var live []uint64
	var free []uint32
	// Some hashes are small (no entropy in their high bits).
	newHash := func() uint64 { return rng.Uint64()>>rng.IntN(60) | 1 }
	for step := range 200_000 {
		grow := step < 120_000 && rng.IntN(3) > 0 || step >= 120_000 && rng.IntN(5) == 0
		if grow || len(live) == 0 {
			h := newHash()
			if _, dup := want[h]; dup {
				continue
			}
			var si uint32
			if n := len(free); n > 0 {
				si, free = free[n-1], free[:n-1]
				*core.at(si) = seriesCore{hash: h}
			} else {
				si = uint32(core.len())
				core.push(seriesCore{hash: h})
			}
			x.insert(h, si, &core)
			want[h] = si
			live = append(live, h)
		} else {
			i := rng.IntN(len(live))
			h := live[i]
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
			x.remove(h, &core)
			free = append(free, want[h])
			*core.at(want[h]) = seriesCore{group: slotFree}
			delete(want, h)
		}
		if step%997 == 0 || step == 199_999 {
			if x.n != len(want) {
				t.Fatalf("step %d: n = %d, want %d", step, x.n, len(want))
			}
			for h, si := range want {
				if got, ok := x.find(h, &core); !ok || got != si {
					t.Fatalf("step %d: find(%x) = %d, %v; want %d", step, h, got, ok, si)
				}
			}
			for range 50 {
				h := newHash()
				if _, ok := want[h]; !ok {
					if si, found := x.find(h, &core); found {
						t.Fatalf("step %d: found absent hash %x at slot %d", step, h, si)
					}
				}
			}
		}
	}
	if len(x.tab) > 16*8*len(want)+16 {
		t.Fatalf("table of %d entries for %d series: not shrunk after churn", len(x.tab), len(want))
	}
}
