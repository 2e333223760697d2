package state

import (
	"math/bits"
	"math/rand/v2"
)

// seriesIndex maps a series hash to the position of its live entry in a
// Dedupe's entries. It replaces a map[uint64]int32, which costs about 30
// bytes per series, with an open-addressing table of positions (linear
// probing): about 5.5 bytes per series. Dedupe holds one entry per series
// per sink.
//
// The table is not a power of two: a probe starts at the mixed hash scaled
// into the table (the high half of hash x len), so a rebuild sizes it to
// what it holds, at load 0.64, and it grows again at load 0.8. A power of
// two table that doubles sits anywhere between load 0.375 and 0.75. Most
// lookups never reach the index (Dedupe.find tries the entry after the
// last one used first); the longer probes of a fuller table cost only new
// series and reordered scrapes.
//
// A slot holds the position plus one; 0 is free and -1 a tombstone left by
// remove (probes walk past it; the next rebuild drops it). Probes start at
// the hash mixed with a random per-index seed: series hashes are xxhash of
// names and labels a target chooses, and must not be able to pile up in
// one run of the table.
type seriesIndex struct {
	seed uint64
	tab  []int32
	live int // entries indexed
	used int // live entries plus tombstones
}

const (
	slotFree      = 0
	slotTombstone = -1
)

func (x *seriesIndex) start(h uint64) int {
	hi, _ := bits.Mul64((h^x.seed)*0x9E3779B97F4A7C15, uint64(len(x.tab)))
	return int(hi)
}

// find returns the position of h's entry in ents, or -1.
func (x *seriesIndex) find(ents *dedupeEntries, h uint64) int32 {
	if x.live == 0 {
		return -1
	}
	for j := x.start(h); ; {
		switch v := x.tab[j]; v {
		case slotFree:
			return -1
		case slotTombstone:
		default:
			if ents.hash(v-1) == h {
				return v - 1
			}
		}
		if j++; j == len(x.tab) {
			j = 0
		}
	}
}

// insert indexes entry i, whose hash has no entry in the index.
func (x *seriesIndex) insert(ents *dedupeEntries, i int32) {
	if (x.used+1)*5 > len(x.tab)*4 {
		x.build(ents, i, x.live+1)
	}
	j := x.start(ents.hash(i))
	for x.tab[j] != slotFree && x.tab[j] != slotTombstone {
		if j++; j == len(x.tab) {
			j = 0
		}
	}
	if x.tab[j] == slotFree {
		x.used++
	}
	x.tab[j] = i + 1
	x.live++
}

// remove drops h's entry from the index; it reports whether there was one.
func (x *seriesIndex) remove(ents *dedupeEntries, h uint64) bool {
	if x.live == 0 {
		return false
	}
	for j := x.start(h); ; {
		switch v := x.tab[j]; v {
		case slotFree:
			return false
		case slotTombstone:
		default:
			if ents.hash(v-1) == h {
				x.tab[j] = slotTombstone
				x.live--
				return true
			}
		}
		if j++; j == len(x.tab) {
			j = 0
		}
	}
}

// rebuild indexes the live entries of ents in a table sized for them.
func (x *seriesIndex) rebuild(ents *dedupeEntries) {
	x.build(ents, ents.len(), 0)
}

// build indexes the live entries among the first n of ents in a fresh
// table with room for at least want entries at load 0.64. Growing by a
// quarter and more per rebuild keeps inserts amortised O(1).
func (x *seriesIndex) build(ents *dedupeEntries, n int32, want int) {
	if x.seed == 0 {
		x.seed = rand.Uint64() | 1
	}
	live := 0
	for i := range n {
		if ents.at(i) != atDead {
			live++
		}
	}
	want = max(want, live)
	size := want*25/16 + 8
	if len(x.tab) < size || len(x.tab) > 2*size {
		x.tab = make([]int32, size)
	} else {
		clear(x.tab) // a compaction: reuse the table
	}
	x.live, x.used = 0, 0
	for i := range n {
		if ents.at(i) == atDead {
			continue
		}
		j := x.start(ents.hash(i))
		for x.tab[j] != slotFree {
			if j++; j == len(x.tab) {
				j = 0
			}
		}
		x.tab[j] = i + 1
		x.live++
		x.used++
	}
}

// bytes is the memory the index holds.
func (x *seriesIndex) bytes() int { return 4 * cap(x.tab) }
