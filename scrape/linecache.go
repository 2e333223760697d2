package scrape

import (
	"hash/maphash"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// lineCache remembers, for the series text of each text or OpenMetrics
// sample line of the last successful Parse (`name{labels}`, byte for byte),
// which sample it became. A steady exposition repeats the same series text
// every scrape, so a hit skips label parsing, interning, sorting,
// target-label merging, limit checks and hashing: the new sample takes the
// previous one's name, labels, series hash and kind, sharing its label slice
// instead of copying it into a new arena (Labels are read-only everywhere,
// so sharing is safe).
//
// The cache keeps no copy of what it remembers: it holds the last Parse's
// samples themselves (read-only; the caller owns them and keeps them anyway,
// for unchanged answers and staleness) plus one 16-byte key per sample, by
// position, and an index from key to position that is built only when a
// scrape's lines come out of order. About 40 bytes per series in all, where
// a table of its own copies of names, labels and hashes took about 110, and
// the keys hold no pointers for the garbage collector to scan.
//
// The key is 128 bits: xxhash of the text plus a maphash with a random
// per-parser seed as a check, so two different texts never share an entry in
// practice and cannot be made to on purpose.
//
// The result of parsing a series text depends only on the text, the family
// kind the line is classified as (compared with the cached sample's), the
// format, the target labels and the label limits; the cache empties itself
// when any of the last three differs from the Parse that filled it. A
// series absent from the last successful scrape is parsed afresh.
type lineCache struct {
	seed maphash.Seed

	prev  []Sample  // the last successful Parse's samples
	keys  []lineKey // keys[i]: the series text of prev[i]
	tab   lineIndex // key -> index in keys; valid only when tabOK
	tabOK bool

	// The Parse in progress: the key of each sample so far, by position,
	// and whether every line so far was found at its own position.
	cur     []lineKey
	inOrder bool

	// The parse options prev was built under.
	format Format
	tl     Labels
	limits Limits
}

// lineKey identifies a series text.
type lineKey struct{ key, check uint64 }

// lineEntry is what the parser uses of a cached line: the sample's name,
// labels, series hash and the kind it was parsed as.
type lineEntry struct {
	name   string
	labels Labels
	hash   uint64
	kind   Kind
}

// lineState is the cache's view of the sample line being parsed.
type lineState struct {
	armed       bool // key is set: store the sample's result on success
	hit         bool // entry holds the cached result for this line
	key, check  uint64
	entry       lineEntry
	line        []byte // the line, to parse its labels after all (kind changed)
	labelsStart int    // index of '{' in line, or -1
}

// begin starts a Parse under opt in format f.
func (c *lineCache) begin(f Format, opt *ParseOptions) {
	if c.cur == nil && c.keys == nil {
		c.seed = maphash.MakeSeed()
	}
	if f != c.format || opt.Limits != c.limits || !slices.Equal(opt.TargetLabels, c.tl) {
		c.forget()
		c.format, c.limits, c.tl = f, opt.Limits, slices.Clone(opt.TargetLabels)
	}
	c.cur = c.cur[:0]
	c.inOrder = true
}

func (c *lineCache) forget() {
	c.prev, c.keys, c.tabOK = nil, c.keys[:0], false
}

// end closes a Parse that produced out (ok) or failed. A successful
// Parse's samples and keys replace the previous ones; after a failed one
// the cache keeps what it had.
func (c *lineCache) end(out []Sample, ok bool) {
	switch {
	case !ok:
	case len(c.cur) != len(out) || c.format == FormatProtobuf:
		// Some sample did not come from a cached or cacheable line (or
		// none could): positions would not match samples.
		c.forget()
	default:
		if !c.inOrder || len(c.cur) != len(c.keys) {
			c.tabOK = false // positions changed
		}
		c.prev = out
		c.keys, c.cur = c.cur, c.keys
	}
	c.cur = c.cur[:0]
}

// lookup fills st for line, whose series text is line[:end] (labels at
// labelsStart, or -1), and reports a hit.
func (c *lineCache) lookup(st *lineState, line []byte, end, labelsStart int) bool {
	text := line[:end]
	*st = lineState{armed: true, key: xxhash.Sum64(text), check: maphash.Bytes(c.seed, text), line: line, labelsStart: labelsStart}
	k := lineKey{st.key, st.check}
	// Position among the lines that became samples (a line that is
	// skipped, like an OpenMetrics _created, is never stored).
	pos := len(c.cur)
	i := int32(-1)
	if pos < len(c.keys) && c.keys[pos] == k {
		i = int32(pos)
	} else {
		c.inOrder = false
		if !c.tabOK {
			c.tab.rebuild(c.keys)
			c.tabOK = true
		}
		i = c.tab.find(c.keys, k)
	}
	if i < 0 {
		return false
	}
	s := &c.prev[i]
	st.hit, st.entry = true, lineEntry{name: s.Name, labels: s.Labels, hash: s.Hash, kind: s.Kind}
	return true
}

// stamp records that the sample at the current position came from the hit.
func (c *lineCache) stamp(st *lineState) {
	c.cur = append(c.cur, lineKey{st.key, st.check})
}

// store records that the sample at the current position was parsed from
// st's line; the sample itself (in the Parse's output) holds the result.
func (c *lineCache) store(st *lineState, _ string, _ Labels, _ uint64, _ Kind) {
	c.cur = append(c.cur, lineKey{st.key, st.check})
}

// lineIndex finds the position of a key in a lineCache's keys: an
// open-addressing table (linear probing, load at most 3/4) of positions
// plus one, 0 for free: 5 to 11 bytes per series where a map[uint64]int32
// holds about 30. Probes start from the key's check, which is seeded per
// parser, so no exposition can be made to pile its series into one run of
// the table. It is rebuilt whole, never updated.
type lineIndex struct {
	tab []int32
}

// find returns the index in keys of k, or -1. With duplicate series texts
// it finds one of them.
func (x *lineIndex) find(keys []lineKey, k lineKey) int32 {
	if len(x.tab) == 0 {
		return -1
	}
	mask := uint64(len(x.tab) - 1)
	for j := k.check & mask; ; j = (j + 1) & mask {
		v := x.tab[j]
		if v == 0 {
			return -1
		}
		if keys[v-1] == k {
			return v - 1
		}
	}
}

// rebuild indexes exactly keys, in a table sized for them (reusing the
// old one when it is the right size).
func (x *lineIndex) rebuild(keys []lineKey) {
	size := 16
	for size*3 < len(keys)*4 {
		size *= 2
	}
	if len(x.tab) == size {
		clear(x.tab)
	} else {
		x.tab = make([]int32, size)
	}
	mask := uint64(size - 1)
	for i := range keys {
		j := keys[i].check & mask
		for x.tab[j] != 0 {
			j = (j + 1) & mask
		}
		x.tab[j] = int32(i) + 1
	}
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
