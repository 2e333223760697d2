package state

import (
	"testing"
	"time"
	"unsafe"

	"github.com/jonboulle/clockwork"

	"github.com/promfwd/promfwd/scrape"
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
			var ents []dedupeEntry
			add := func(h uint64) {
				ents = append(ents, dedupeEntry{hash: h, sentAt: 1})
				x.insert(ents, int32(len(ents)-1))
			}
			const n = 5000
			for i := range n {
				add(tc.hash(i))
			}
			for i := 0; i < n; i += 2 { // forget the even ones
				k := x.find(ents, tc.hash(i))
				if k < 0 || !x.remove(ents, tc.hash(i)) {
					t.Fatalf("entry %d not found for removal", i)
				}
				ents[k].sentAt = deadSentAt
			}
			for i := 0; i < n; i += 4 { // and bring a quarter back
				add(tc.hash(i))
			}
			check := func(when string) {
				t.Helper()
				live := 0
				for i := range n {
					k := x.find(ents, tc.hash(i))
					want := i%2 == 1 || i%4 == 0
					switch {
					case want && (k < 0 || ents[k].hash != tc.hash(i) || ents[k].sentAt == deadSentAt):
						t.Fatalf("%s: live entry %d: find = %d", when, i, k)
					case !want && k >= 0:
						t.Fatalf("%s: forgotten entry %d found at %d", when, i, k)
					}
					if want {
						live++
					}
				}
				if x.live != live || x.used*4 > len(x.tab)*3 {
					t.Fatalf("%s: index holds %d live (want %d), %d used of %d slots", when, x.live, live, x.used, len(x.tab))
				}
			}
			check("after removals")
			x.rebuild(ents, x.live)
			check("after rebuild")
			if x.remove(ents, tc.hash(2)) {
				t.Fatal("removed an entry that was not there")
			}
		})
	}
}

// Dedupe state is one entry per series per sink: entries and index stay
// within 40 bytes per series (a map index made it about 60).
func TestDedupeBytesPerSeries(t *testing.T) {
	const n = 100_000
	in := make([]scrape.Sample, n)
	for i := range in {
		in[i] = scrape.Sample{Name: "m", Value: float64(i), Hash: uint64(i) * 0x9E3779B97F4A7C15}
	}
	d := NewDedupe(time.Minute, clockwork.NewFakeClock())
	d.Filter(in)
	bytes := cap(d.ents)*int(unsafe.Sizeof(dedupeEntry{})) + 4*len(d.idx.tab)
	t.Logf("%d bytes per series", bytes/n)
	if per := bytes / n; per > 40 || d.Len() != n {
		t.Fatalf("dedupe holds %d bytes per series for %d series", per, d.Len())
	}
}
