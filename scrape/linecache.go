package scrape

import (
	"hash/maphash"
	"math"
	"slices"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// lineMinKeep is the cache size below which it is never pruned.
const lineMinKeep = 4096

// lineCache remembers, for the series text of a text or OpenMetrics sample
// line (`name{labels}`, byte for byte), the name, finished labels and series
// hash the parser produced for it. A steady exposition repeats the same
// series text every scrape, so a hit skips label parsing, interning,
// sorting, target-label merging, limit checks and hashing, and the sample
// shares the previous scrape's label slice instead of copying it into a new
// arena (Labels are read-only everywhere, so sharing is safe).
//
// The key is 128 bits: xxhash of the text plus a maphash with a random
// per-parser seed as a check, so two different texts never share an entry in
// practice and cannot be made to on purpose.
//
// The result of parsing a series text depends only on the text, the family
// kind the line is classified as (stored and compared), the format, the
// target labels and the label limits; the cache empties itself when any of
// the last three differs from the Parse that filled it. Entries unused for a
// scrape are pruned like the interner's (generations).
//
// The cache lives as long as its target and holds one entry per series, so
// its size per series counts (see lineSlot): entries sit in one slice and
// are found through an open-addressing table of their positions, about 64
// bytes per series in all where a map to full entries took about 110.
type lineCache struct {
	seed maphash.Seed
	tab  lineIndex
	ents []lineSlot
	gen  uint32
	used int

	// order holds the entry of each sample line of the last Parse by
	// position; an exposition usually repeats its order, so most lookups
	// are one comparison with order[pos] instead of a probe of the table.
	order, next []int32

	// The parse options the entries were built under.
	format Format
	tl     Labels
	limits Limits
}

// lineEntry is what the parser uses of a cached line: the sample's name,
// labels, series hash and the kind it was parsed as.
type lineEntry struct {
	name   string
	labels Labels
	hash   uint64
	kind   Kind
}

// lineSlot is a stored lineEntry in 56 bytes instead of 72: the name and
// the label slice are kept as pointer and length (the labels' capacity is
// always their length, and both point into memory that never changes), so
// the slot pins exactly what the entry would.
type lineSlot struct {
	key, check, hash uint64
	labels           *Label // first label; nil when there are none
	name             *byte
	nameLen          uint32
	gen              uint32
	nLabels          uint16
	kind             Kind
}

// slotFits reports whether an entry can be stored in a lineSlot; a name or
// label set too long for one is simply never cached.
func slotFits(name string, ls Labels) bool {
	return len(name) <= math.MaxUint32 && len(ls) <= math.MaxUint16
}

func makeSlot(key, check uint64, name string, ls Labels, hash uint64, kind Kind, gen uint32) lineSlot {
	s := lineSlot{key: key, check: check, hash: hash, name: unsafe.StringData(name), nameLen: uint32(len(name)),
		gen: gen, nLabels: uint16(len(ls)), kind: kind}
	if len(ls) > 0 {
		s.labels = &ls[0]
	}
	return s
}

func (s *lineSlot) entry() lineEntry {
	e := lineEntry{name: unsafe.String(s.name, s.nameLen), hash: s.hash, kind: s.kind, labels: Labels{}}
	if s.nLabels > 0 {
		e.labels = unsafe.Slice(s.labels, s.nLabels)
	}
	return e
}

// lineState is the cache's view of the sample line being parsed.
type lineState struct {
	armed       bool // key is set: store the sample's result on success
	hit         bool // entry holds the cached result for this line
	key, check  uint64
	ent         int32 // index of the hit entry
	entry       lineEntry
	line        []byte // the line, to parse its labels after all (kind changed)
	labelsStart int    // index of '{' in line, or -1
}

// begin starts a Parse under opt in format f.
func (c *lineCache) begin(f Format, opt *ParseOptions) {
	if c.gen == 0 {
		c.seed = maphash.MakeSeed()
	}
	if f != c.format || opt.Limits != c.limits || !slices.Equal(opt.TargetLabels, c.tl) {
		c.reset()
		c.format, c.limits, c.tl = f, opt.Limits, slices.Clone(opt.TargetLabels)
	}
	c.gen++
	c.used = 0
	c.next = c.next[:0]
}

func (c *lineCache) reset() {
	c.tab = lineIndex{}
	c.ents = nil
	c.order, c.next = nil, nil
}

// end keeps this Parse's line order for the next one and prunes entries the
// Parse did not use once they outnumber the used ones (series that went
// away, or a failed parse).
func (c *lineCache) end() {
	c.order, c.next = c.next, c.order
	if len(c.ents) <= 2*c.used+lineMinKeep {
		return
	}
	old := c.ents
	c.ents = make([]lineSlot, 0, c.used)
	for _, e := range old {
		if e.gen == c.gen {
			c.ents = append(c.ents, e)
		}
	}
	c.tab.rebuild(c.ents)
	// order now holds stale positions; lookup checks the key of the entry
	// at a position, so they only cost a probe of the table.
}

// lookup fills st for line, whose series text is line[:end] (labels at
// labelsStart, or -1), and reports a hit.
func (c *lineCache) lookup(st *lineState, line []byte, end, labelsStart int) bool {
	text := line[:end]
	*st = lineState{armed: true, key: xxhash.Sum64(text), check: maphash.Bytes(c.seed, text), line: line, labelsStart: labelsStart}
	// Position among the lines that became samples (a line that is
	// skipped, like an OpenMetrics _created, is never stored).
	pos := len(c.next)
	i := int32(-1)
	if pos < len(c.order) && c.order[pos] >= 0 && c.order[pos] < int32(len(c.ents)) && c.ents[c.order[pos]].key == st.key {
		i = c.order[pos]
	} else {
		i = c.tab.find(c.ents, st.key, st.check)
	}
	if i < 0 || c.ents[i].check != st.check {
		return false
	}
	st.hit, st.ent, st.entry = true, i, c.ents[i].entry()
	return true
}

// stamp marks the hit entry as used by this Parse, at this position.
func (c *lineCache) stamp(st *lineState) {
	if e := &c.ents[st.ent]; e.gen != c.gen {
		e.gen = c.gen
		c.used++
	}
	c.next = append(c.next, st.ent)
}

// store records the result of parsing st's line.
func (c *lineCache) store(st *lineState, name string, ls Labels, hash uint64, kind Kind) {
	if !slotFits(name, ls) {
		c.next = append(c.next, -1) // keeps positions aligned; never matches
		return
	}
	e := makeSlot(st.key, st.check, name, ls, hash, kind, c.gen)
	i := c.tab.find(c.ents, st.key, st.check)
	switch {
	case i < 0:
		i = int32(len(c.ents))
		c.ents = append(c.ents, e)
		c.tab.insert(c.ents, i)
		c.used++
	default:
		if c.ents[i].gen != c.gen {
			c.used++
		}
		c.ents[i] = e
	}
	c.next = append(c.next, i)
}

// lineIndex finds an entry of a lineCache by its key: an open-addressing
// table (linear probing) of entry positions plus one, 0 for free. It holds
// 4 to 8 bytes per entry where a map[uint64]int32 holds about 30. Probes
// start from the entry's check, which is seeded per parser, so no
// exposition can be made to pile its series into one run of the table.
// Entries are never removed one by one: pruning rebuilds the table.
type lineIndex struct {
	tab []int32
	n   int
}

// find returns the position in ents of the entry with key and check, or -1.
func (x *lineIndex) find(ents []lineSlot, key, check uint64) int32 {
	if len(x.tab) == 0 {
		return -1
	}
	mask := uint64(len(x.tab) - 1)
	for j := check & mask; ; j = (j + 1) & mask {
		v := x.tab[j]
		if v == 0 {
			return -1
		}
		if e := &ents[v-1]; e.key == key && e.check == check {
			return v - 1
		}
	}
}

// insert adds ents[i], which is not in the table yet.
func (x *lineIndex) insert(ents []lineSlot, i int32) {
	if (x.n+1)*4 > len(x.tab)*3 { // keep the load at or under 3/4
		x.grow(ents[:i], max(16, 2*len(x.tab)))
	}
	x.put(ents[i].check, i)
	x.n++
}

func (x *lineIndex) put(check uint64, i int32) {
	mask := uint64(len(x.tab) - 1)
	j := check & mask
	for x.tab[j] != 0 {
		j = (j + 1) & mask
	}
	x.tab[j] = i + 1
}

// grow replaces the table with one of size slots holding every entry of ents.
func (x *lineIndex) grow(ents []lineSlot, size int) {
	x.tab = make([]int32, size)
	x.n = len(ents)
	for i := range ents {
		x.put(ents[i].check, int32(i))
	}
}

// rebuild indexes exactly ents, in a table sized for them.
func (x *lineIndex) rebuild(ents []lineSlot) {
	size := 16
	for size*3 < len(ents)*4 {
		size *= 2
	}
	x.grow(ents, size)
}

// seriesSpan returns the end of a sample line's series text (the metric
// name and its label set, as sampleLine reads them) and the index of its
// '{' (or -1). end is 0 when the text is not well-formed enough to find its
// end; the line then takes the uncached path, which reports the error.
func seriesSpan(line []byte, om bool) (end, labelsStart int) {
	pos := 0
	if line[0] != '{' {
		pos = scanMetricName(line, 0)
		if pos == 0 {
			return 0, -1
		}
		if q := skipBlanks(line, pos); !om && q < len(line) && line[q] == '{' {
			pos = q
		}
	}
	if pos == len(line) || line[pos] != '{' {
		return pos, -1
	}
	for i := pos + 1; i < len(line); i++ {
		switch line[i] {
		case '"':
			for i++; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' {
					i++
				}
			}
			if i >= len(line) {
				return 0, -1
			}
		case '}':
			return i + 1, pos
		}
	}
	return 0, -1
}
