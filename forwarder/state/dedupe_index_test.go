package state

import (
	"testing"
)

// The index finds exactly the live entries through inserts, removals
// (tombstones), re-inserts of a removed hash and rebuilds, also when every
// hash starts its probe at the same slot without the seed.
func TestSeriesIndex(t *testing.T) {
	for _, tc := range []struct {
		name string
		hash func(i int) uint64
	}{
		{"spread", func(i int) uint64 { return uint64(i) * 0x9E3779B97F4A7C15 }},
		{"low bits equal", func(i int) uint64 { return uint64(i+1) << 32 }},
		{"sequential", func(i int) uint64 { return uint64(i) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var x seriesIndex
			var ents dedupeEntries
			add := func(h uint64) {
				x.insert(&ents, ents.add(h, 0, 1))
			}
			const n = 5000
			for i := range n {
				add(tc.hash(i))
			}
			for i := 0; i < n; i += 2 { // forget the even ones
				k := x.find(&ents, tc.hash(i))
				if k < 0 || !x.remove(&ents, tc.hash(i)) {
					t.Fatalf("entry %d not found for removal", i)
				}
				ents.kill(k)
			}
			for i := 0; i < n; i += 4 { // and bring a quarter back
				add(tc.hash(i))
			}
			check := func(when string) {
				t.Helper()
				live := 0
				for i := range n {
					k := x.find(&ents, tc.hash(i))
					want := i%2 == 1 || i%4 == 0
					switch {
					case want && (k < 0 || ents.hash(k) != tc.hash(i) || ents.at(k) == atDead):
						t.Fatalf("%s: live entry %d: find = %d", when, i, k)
					case !want && k >= 0:
						t.Fatalf("%s: forgotten entry %d found at %d", when, i, k)
					}
					if want {
						live++
					}
				}
				if x.live != live || x.used*5 > len(x.tab)*4 {
					t.Fatalf("%s: index holds %d live (want %d), %d used of %d slots", when, x.live, live, x.used, len(x.tab))
				}
			}
			check("after removals")
			x.rebuild(&ents)
			check("after rebuild")
			if x.remove(&ents, tc.hash(2)) {
				t.Fatal("removed an entry that was not there")
			}
		})
	}
}
