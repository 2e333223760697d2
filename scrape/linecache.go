package scrape

import (
	"hash/maphash"
	"slices"

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
type lineCache struct {
	seed maphash.Seed
	idx  map[uint64]int32 // key -> index in ents
	// byHash maps a series hash to an entry of that series, so a second
	// text of one series ({a="1",b="2"} and {b="2",a="1"}) is noticed when
	// it is stored: duplicate detection (duplicate.go) needs it.
	byHash map[uint64]int32
	ents   []lineEntry
	gen    uint32
	used   int

	// order holds the entry of each sample line of the last Parse by
	// position; an exposition usually repeats its order, so most lookups
	// are one comparison with order[pos] instead of a probe of a large map.
	order, next []int32

	// The parse options the entries were built under.
	format Format
	tl     Labels
	limits Limits
	honor  bool
}

type lineEntry struct {
	key, check uint64
	name       string
	labels     Labels
	hash       uint64
	kind       Kind // as the family classified the line
	out        Kind // as it was emitted (untyped for a bucket without le)
	shared     bool // another text of the same series was seen
	gen        uint32
	lastTS     int64 // timestamp of the last sample in Parse gen
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
	shared      bool   // store the entry as one of several texts of its series
}

// begin starts a Parse under opt in format f.
func (c *lineCache) begin(f Format, opt *ParseOptions) {
	if c.idx == nil {
		c.seed = maphash.MakeSeed()
		c.idx = make(map[uint64]int32)
		c.byHash = make(map[uint64]int32)
	}
	if f != c.format || opt.Limits != c.limits || opt.HonorLabels != c.honor || !slices.Equal(opt.TargetLabels, c.tl) {
		c.reset(0)
		c.format, c.limits, c.honor, c.tl = f, opt.Limits, opt.HonorLabels, slices.Clone(opt.TargetLabels)
	}
	c.gen++
	c.used = 0
	c.next = c.next[:0]
}

func (c *lineCache) reset(size int) {
	c.idx = make(map[uint64]int32, size)
	c.byHash = make(map[uint64]int32, size)
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
	c.reset(c.used)
	c.ents = make([]lineEntry, 0, c.used)
	for _, e := range old {
		if e.gen == c.gen {
			i := int32(len(c.ents))
			c.idx[e.key] = i
			if j, ok := c.byHash[e.hash]; ok {
				c.ents[j].shared, e.shared = true, true
			} else {
				c.byHash[e.hash] = i
			}
			c.ents = append(c.ents, e)
		}
	}
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
	if pos < len(c.order) && c.order[pos] < int32(len(c.ents)) && c.ents[c.order[pos]].key == st.key {
		i = c.order[pos]
	} else if j, ok := c.idx[st.key]; ok {
		i = j
	}
	if i < 0 || c.ents[i].check != st.check {
		return false
	}
	st.hit, st.ent, st.entry = true, i, c.ents[i]
	return true
}

// stamp marks the hit entry as used by this Parse, at this position, with
// a sample at ts (repeat: a dropped repeat of its series).
func (c *lineCache) stamp(st *lineState, ts int64, repeat bool) {
	e := &c.ents[st.ent]
	if !repeat {
		e.lastTS = ts
	}
	if e.gen != c.gen {
		e.gen = c.gen
		c.used++
	}
	c.next = append(c.next, st.ent)
}

// store records the result e of parsing st's line, whose sample is at ts
// (repeat: a dropped repeat of its series).
func (c *lineCache) store(st *lineState, e lineEntry, ts int64, repeat bool) {
	e.key, e.check, e.gen, e.shared, e.lastTS = st.key, st.check, c.gen, st.shared, ts
	i, ok := c.idx[st.key]
	switch {
	case !ok:
		i = int32(len(c.ents))
		c.ents = append(c.ents, e)
		c.idx[st.key] = i
		c.used++
	default:
		old := &c.ents[i]
		if old.gen != c.gen {
			c.used++
		} else if repeat {
			e.lastTS = old.lastTS
		}
		e.shared = e.shared || (old.shared && old.hash == e.hash)
		*old = e
	}
	if j, ok := c.byHash[e.hash]; !ok || c.ents[j].hash != e.hash {
		c.byHash[e.hash] = i
	}
	c.next = append(c.next, i)
}

// sameSeries returns an entry of series h, if any, and whether its text
// differs from st's line.
func (c *lineCache) sameSeries(st *lineState, h uint64) (e *lineEntry, other bool) {
	j, ok := c.byHash[h]
	if !ok || c.ents[j].hash != h {
		return nil, false
	}
	e = &c.ents[j]
	return e, e.key != st.key || e.check != st.check
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
