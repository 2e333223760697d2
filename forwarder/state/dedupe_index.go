package state

import "math/rand/v2"

// seriesIndex maps a series hash to the position of its live entry in a
// Dedupe's entries. It replaces a map[uint64]int32, which costs about 30
// bytes per series, with an open-addressing table of positions (linear
// probing, load at most 3/4): 5 to 11 bytes per series. Dedupe holds one
// entry per series per sink, so at a million series that is about 20 MB
// per sink.
//
// A slot holds the position plus one; 0 is free and -1 a tombstone left by
// remove (probes walk past it; the next rebuild drops it). Probes start at
// the hash mixed with a random per-index seed: series hashes are xxhash of
// names and labels a target chooses, and must not be able to pile up in
// one run of the table.
type seriesIndex struct {
	seed  uint64
	tab   []int32
	shift uint // 64 - log2(len(tab))
	live  int  // entries indexed
	used  int  // live entries plus tombstones
}

const (
	slotFree      = 0
	slotTombstone = -1
)

func (x *seriesIndex) start(h uint64) uint64 {
	return ((h ^ x.seed) * 0x9E3779B97F4A7C15) >> x.shift
}

// find returns the position of h's entry in ents, or -1.
func (x *seriesIndex) find(ents []dedupeEntry, h uint64) int32 {
	if x.live == 0 {
		return -1
	}
	mask := uint64(len(x.tab) - 1)
	for j := x.start(h); ; j = (j + 1) & mask {
		switch v := x.tab[j]; v {
		case slotFree:
			return -1
		case slotTombstone:
		default:
			if ents[v-1].hash == h {
				return v - 1
			}
		}
	}
}

// insert indexes ents[i], whose hash has no entry in the index.
func (x *seriesIndex) insert(ents []dedupeEntry, i int32) {
	if (x.used+1)*4 > len(x.tab)*3 {
		x.rebuild(ents[:i], 2*(x.live+1))
	}
	mask := uint64(len(x.tab) - 1)
	j := x.start(ents[i].hash)
	for x.tab[j] != slotFree && x.tab[j] != slotTombstone {
		j = (j + 1) & mask
	}
	if x.tab[j] == slotFree {
		x.used++
	}
	x.tab[j] = i + 1
	x.live++
}

// remove drops h's entry from the index; it reports whether there was one.
func (x *seriesIndex) remove(ents []dedupeEntry, h uint64) bool {
	if x.live == 0 {
		return false
	}
	mask := uint64(len(x.tab) - 1)
	for j := x.start(h); ; j = (j + 1) & mask {
		switch v := x.tab[j]; v {
		case slotFree:
			return false
		case slotTombstone:
		default:
			if ents[v-1].hash == h {
				x.tab[j] = slotTombstone
				x.live--
				return true
			}
		}
	}
}

// rebuild indexes the live entries of ents (sentAt != deadSentAt) in a
// fresh table with room for at least want entries. insert asks for twice
// what it holds, so rebuilds stay rare (amortised O(1) per insert).
func (x *seriesIndex) rebuild(ents []dedupeEntry, want int) {
	if x.seed == 0 {
		x.seed = rand.Uint64() | 1
	}
	size, shift := 16, uint(60)
	for size*3 < want*4 {
		size *= 2
		shift--
	}
	x.tab, x.shift, x.live, x.used = make([]int32, size), shift, 0, 0
	mask := uint64(size - 1)
	for i := range ents {
		if ents[i].sentAt == deadSentAt {
			continue
		}
		j := x.start(ents[i].hash)
		for x.tab[j] != slotFree {
			j = (j + 1) & mask
		}
		x.tab[j] = int32(i) + 1
		x.live++
		x.used++
	}
}
