package aggregate

import "math/bits"

// slotIndex finds a rule's input series by hash: an open-addressing table
// (linear probing) of slot numbers, the hashes kept in the slots
// themselves (seriesCore.hash in the core column). A Go map[uint64]uint32 costs 16-byte
// entries (alignment) plus its control bytes, about 24 bytes a series at
// its usual load; this costs 4 bytes a table entry, about 6 a series.
type slotIndex struct {
	tab   []uint32 // slot+1; 0: empty. Length: a power of two, or 0.
	shift uint     // 64 - log2(len(tab))
	n     int
}

// home is h's preferred table position (Fibonacci hashing: the high bits
// of the product, well mixed whatever the hash's own low bits are).
func (x *slotIndex) home(h uint64) int {
	return int((h * 0x9E3779B97F4A7C15) >> x.shift)
}

// find returns the slot holding hash h.
func (x *slotIndex) find(h uint64, core *column[seriesCore]) (uint32, bool) {
	if x.n == 0 {
		return 0, false
	}
	mask := len(x.tab) - 1
	for i := x.home(h); ; i = (i + 1) & mask {
		s := x.tab[i]
		if s == 0 {
			return 0, false
		}
		if core.at(s-1).hash == h {
			return s - 1, true
		}
	}
}

// insert adds slot (whose hash is h, not in the index yet).
func (x *slotIndex) insert(h uint64, slot uint32, core *column[seriesCore]) {
	if (x.n+1)*8 > len(x.tab)*7 { // load above 7/8: double
		x.resize(max(16, 2*len(x.tab)), core)
	}
	mask := len(x.tab) - 1
	i := x.home(h)
	for x.tab[i] != 0 {
		i = (i + 1) & mask
	}
	x.tab[i] = slot + 1
	x.n++
}

func (x *slotIndex) resize(size int, core *column[seriesCore]) {
	old := x.tab
	x.tab = make([]uint32, size)
	x.shift = uint(64 - bits.TrailingZeros(uint(size)))
	mask := size - 1
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := x.home(core.at(s - 1).hash)
		for x.tab[i] != 0 {
			i = (i + 1) & mask
		}
		x.tab[i] = s
	}
}

// remove deletes the slot with hash h, shifting back the entries after it
// that would otherwise no longer be found (no tombstones).
func (x *slotIndex) remove(h uint64, core *column[seriesCore]) {
	if x.n == 0 {
		return
	}
	mask := len(x.tab) - 1
	i := x.home(h)
	for {
		s := x.tab[i]
		if s == 0 {
			return
		}
		if core.at(s-1).hash == h {
			break
		}
		i = (i + 1) & mask
	}
	x.n--
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := x.tab[j]
		if s == 0 {
			break
		}
		if k := x.home(core.at(s - 1).hash); movable(i, j, k) {
			x.tab[i] = s
			i = j
		}
	}
	x.tab[i] = 0
	if x.n == 0 {
		*x = slotIndex{}
	} else if len(x.tab) > 16 && x.n*8 < len(x.tab) { // after a churn: give memory back
		x.resize(len(x.tab)/2, core)
	}
}
