package scrape

import (
	"hash/maphash"
	"slices"
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
// SeriesSet (its samples' identities, 12 bytes per series, shared with the
// caller's staleness tracking; not the samples, which the caller frees once
// its sinks have encoded them) plus one 8-byte key per sample, by
// position, with no pointers for the garbage collector to scan: a scrape
// that repeats the last one's lines writes no keys of its own, and one that
// does not builds a new array, 16 bytes per series until it ends. A Parse
// whose lines leave the last one's order, or bring a line it does not know,
// also builds indexes from key and from series hash to position and a mark
// per position for duplicate detection (about 4 to 11 bytes per series
// each); they are kept while scrapes need them and dropped by a steady one.
//
// The key is a 64-bit maphash of the text under a random per-parser seed:
// no exposition can be made to collide on purpose (the seed is never seen
// outside the process), and by chance two texts share a key with
// probability 2^-64 per comparison at the same position (a steady scrape)
// or n*2^-64 per index lookup among n keys: at 20,000 series per target
// about 10^-15, the same order as the 64-bit series hashes that dedupe and
// staleness already identify series by.
//
// The result of parsing a series text depends only on the text, the family
// kind the line is classified as (compared with the cached sample's kind),
// the format, the target labels and the label limits; the cache empties
// itself when any of the last three differs from the Parse that filled it. A
// series absent from the last successful scrape is parsed afresh, and so is
// a line whose sample kind differs from its classification (a bucket
// without le, emitted untyped).
type lineCache struct {
	seed  maphash.Seed
	hseed uint64

	prev *SeriesSet // the identities of the last successful Parse's samples
	run  int        // the run of prev read last (SeriesSet.ref)
	keys []lineKey  // keys[i]: the series text of sample i of prev
	// unique: prev holds each series once. Not so when an exposition
	// repeats a series with increasing timestamps.
	unique bool

	kidx   lineIndex // key -> position in keys; valid when kidxOK
	kidxOK bool
	hidx   lineIndex // series hash -> position in prev; valid when hidxOK
	hidxOK bool

	// The Parse in progress: the key of each sample so far, by position
	// (cur[i] is the key of the line of the Parse's i-th sample); n
	// counts them. While each one so far is the last Parse's at the same
	// position (keys[i], a steady scrape), cur is not written and own is
	// false; the first that differs copies keys[:n] into cur (materialize).
	// A steady scrape so keeps one array of keys, not two.
	cur  []lineKey
	n    int
	own  bool
	hint int // the samples the Parse expects: the size of a first cur
	// tracked is set once the Parse leaves the last one's order (a line
	// found elsewhere, or not found): from then on mark records, by
	// position in prev, 1 + the index in the Parse's output of that
	// series' latest sample, for duplicate detection. Before that every
	// sample was the one at its own position, so none can repeat.
	tracked bool
	mark    []int32
	// indexed: this Parse used an index or the marks.
	indexed bool
	// again: this Parse emitted a series twice (a later timestamp).
	again bool

	// The parse options prev was built under.
	format Format
	tl     Labels
	limits Limits
	honor  bool

	// With a rewriter (rewrite.go), positions count every series line
	// that reached a verdict, kept or not: lines[i] is what the line of
	// keys[i] became, and prev holds only the kept samples. curLines and
	// curTs (each line's timestamp, for the closing repeat check) are
	// the Parse in progress'. 24 more bytes per series than without in a
	// steady scrape.
	rw       SeriesRewriter
	lines    []rwLine
	curLines []rwLine
	curTs    []int64
	// rwSteady: every line so far was the hit at its own position.
	// rwChanged: some kept sample has another series than before
	// rewriting. broken: a line without a key reached a verdict.
	rwSteady, rwChanged, broken bool
}

// lineKey identifies a series text (a seeded 64-bit maphash of it).
type lineKey uint64

// lineEntry is what the parser uses of a cached line: the sample's name,
// labels, series hash and the kind it was emitted as.
type lineEntry struct {
	name   string
	labels LabelSet
	hash   uint64
	kind   Kind
}

// lineState is the cache's view of the sample line being parsed.
type lineState struct {
	armed       bool // key is set: the sample's line can be cached
	hit         bool // entry holds the cached result for this line
	key         lineKey
	pos         int32 // position in prev of the sample's series, or -1 (set by seriesPos)
	entry       lineEntry
	line        []byte // the line, to parse its labels after all (kind changed)
	labelsStart int    // index of '{' in line, or -1
}

// begin starts a Parse under opt in format f.
func (c *lineCache) begin(f Format, opt *ParseOptions) {
	if c.hseed == 0 {
		c.seed = maphash.MakeSeed()
		c.hseed = maphash.Comparable(c.seed, uint64(0x9e3779b97f4a7c15)) | 1
	}
	rw := opt.Rewriter
	if f == FormatProtobuf {
		rw = nil // no line cache: the caller rewrites
	}
	if f != c.format || opt.Limits != c.limits || opt.HonorLabels != c.honor || rw != c.rw || !slices.Equal(opt.TargetLabels, c.tl) {
		c.forget()
		c.format, c.limits, c.honor, c.tl, c.rw = f, opt.Limits, opt.HonorLabels, slices.Clone(opt.TargetLabels), rw
		if rw == nil {
			c.lines, c.curLines, c.curTs = nil, nil, nil
		}
	}
	c.cur, c.curLines, c.curTs, c.n, c.own = c.cur[:0], c.curLines[:0], c.curTs[:0], 0, false
	c.tracked, c.indexed, c.again = false, false, false
	c.rwSteady, c.rwChanged, c.broken = true, false, false
}

func (c *lineCache) forget() {
	c.prev, c.keys, c.lines = nil, c.keys[:0], c.lines[:0]
	c.kidxOK, c.hidxOK = false, false
}

// end closes a Parse that produced out (ok) or failed. A successful Parse's
// samples and keys replace the previous ones; after a failed one the cache
// keeps what it had (its indexes still describe it).
func (c *lineCache) end(out []Sample, set *SeriesSet, ok bool) {
	switch {
	case !ok:
	case c.rw != nil:
		c.endRewritten(out, set)
	case c.n != len(out) || c.format == FormatProtobuf:
		// Some sample did not come from a cacheable line (or none
		// could): positions would not match samples.
		c.forget()
	default:
		switch {
		case c.tracked || c.n != len(c.keys):
			c.kidxOK, c.hidxOK = false, false // positions changed
		case !c.indexed:
			// Steady (the same series at the same positions) and
			// nothing needed an index or the marks: their memory goes.
			c.kidx, c.hidx, c.mark = lineIndex{}, lineIndex{}, nil
			c.kidxOK, c.hidxOK = false, false
		}
		// Otherwise steady too, but lines that are never samples (an
		// OpenMetrics _created) used the index: it stays valid.
		c.prev, c.unique = set, !c.again
		c.keys = c.finalKeys()
	}
	// The last Parse's arrays are not kept as spares: a steady scrape
	// never needs them (materialize allocates when one does).
	c.cur, c.curLines, c.n, c.own = nil, nil, 0, false
}

// finalKeys returns the Parse's keys (and, with a rewriter, sets its line
// records as the cache's).
func (c *lineCache) finalKeys() []lineKey {
	if c.own {
		c.lines = fitted(c.curLines)
		return fitted(c.cur)
	}
	if c.rw != nil {
		c.lines = c.lines[:c.n]
	}
	return c.keys[:c.n]
}

// materialize makes cur (and, with a rewriter, curLines) hold the Parse's
// lines so far, the last Parse's first n.
func (c *lineCache) materialize() {
	if c.own {
		return
	}
	c.own = true
	size := max(c.n, len(c.keys), c.hint) + c.n/16 + 16
	c.cur = append(make([]lineKey, 0, size), c.keys[:c.n]...)
	if c.rw != nil {
		c.curLines = append(make([]rwLine, 0, size), c.lines[:c.n]...)
	}
}

// push records the key of the Parse's next line (and, with a rewriter, its
// record l).
func (c *lineCache) push(key lineKey, l *rwLine) {
	if !c.own {
		if c.n < len(c.keys) && c.keys[c.n] == key && (l == nil || c.lines[c.n] == *l) {
			c.n++
			return
		}
		c.materialize()
	}
	c.cur = append(c.cur, key)
	if l != nil {
		c.curLines = append(c.curLines, *l)
	}
	c.n++
}

// endRewritten is end for a successful Parse with a rewriter.
func (c *lineCache) endRewritten(out []Sample, set *SeriesSet) {
	switch {
	case c.broken:
		c.forget()
		return
	case !c.rwSteady || c.n != len(c.keys):
		c.kidxOK = false // positions changed
	case !c.indexed:
		c.kidx, c.kidxOK = lineIndex{}, false
	}
	c.prev, c.unique = set, !c.again
	c.keys = c.finalKeys()
}

// lookup fills st for line, whose series text is line[:end] (labels at
// labelsStart, or -1), and reports a hit.
func (c *lineCache) lookup(st *lineState, line []byte, end, labelsStart int) bool {
	text := line[:end]
	*st = lineState{armed: true, key: lineKey(maphash.Bytes(c.seed, text)), pos: -1, line: line, labelsStart: labelsStart}
	// Position among the lines that became samples (a line that is
	// skipped, like an OpenMetrics _created, or dropped is never stored).
	pos := c.n
	i := int32(-1)
	if pos < len(c.keys) && c.keys[pos] == st.key {
		i = int32(pos)
	} else {
		c.indexed = true
		if !c.kidxOK {
			c.kidx.rebuild(len(c.keys), func(i int) uint64 { return uint64(c.keys[i]) })
			c.kidxOK = true
		}
		i = c.kidx.find(uint64(st.key), func(i int32) bool { return c.keys[i] == st.key })
	}
	if i < 0 {
		return false
	}
	if c.rw != nil {
		return c.hitRewritten(st, i)
	}
	r := c.prev.ref(int(i), &c.run)
	st.hit, st.pos, st.entry = true, i, lineEntry{name: r.name, labels: c.prev.labels(int(i)), hash: c.prev.hashes[i], kind: r.kind}
	return true
}

// inOrder reports whether a sample of st's line can be emitted without a
// duplicate check: prev holds each series once, every sample so far was
// the one at its own position in prev and so is this one.
func (c *lineCache) inOrder(st *lineState) bool {
	return !c.tracked && st.hit && c.unique && int(st.pos) == c.n
}

// seriesPos returns the position in prev of series h (st's, whose line may
// not have been a hit), or -1, and starts tracking the Parse's samples by
// position if it was not yet. When prev holds a series more than once, the
// position is its first, whichever line the hit was.
func (c *lineCache) seriesPos(st *lineState, h uint64) int32 {
	if !c.tracked {
		c.tracked, c.indexed = true, true
		n := c.prev.Len()
		if cap(c.mark) < n {
			c.mark = make([]int32, n)
		}
		c.mark = c.mark[:n]
		// The samples so far are prev's first ones, in order.
		for i := range c.n {
			c.mark[i] = int32(i) + 1
		}
	}
	if !st.hit || !c.unique {
		st.pos = -1
		if n := c.prev.Len(); n > 0 {
			if !c.hidxOK {
				c.hidx.rebuild(n, func(i int) uint64 { return c.prev.hashes[i] * c.hseed })
				c.hidxOK = true
			}
			st.pos = c.hidx.find(h*c.hseed, func(i int32) bool { return c.prev.hashes[i] == h })
		}
	}
	return st.pos
}

// emitted records that out[k] is the sample of st's line.
func (c *lineCache) emitted(st *lineState, k int) {
	if c.tracked && st.pos >= 0 {
		c.mark[st.pos] = int32(k) + 1
	}
	if st.armed {
		c.push(st.key, nil)
	}
}

// lineIndex finds a position by a 64-bit probe start: an open-addressing
// table (linear probing, load at most 3/4) of positions plus one, 0 for
// free: 5 to 11 bytes per position where a map[uint64]int32 holds about 30.
// Probe starts come from seeded values, so no exposition can be made to
// pile its series into one run of the table. It is rebuilt whole, never
// updated.
type lineIndex struct {
	tab []int32
}

// find returns the first position whose probe start is start and for which
// match holds, or -1.
func (x *lineIndex) find(start uint64, match func(int32) bool) int32 {
	if len(x.tab) == 0 {
		return -1
	}
	mask := uint64(len(x.tab) - 1)
	for j := (start >> 32) & mask; ; j = (j + 1) & mask {
		v := x.tab[j]
		if v == 0 {
			return -1
		}
		if match(v - 1) {
			return v - 1
		}
	}
}

// rebuild indexes positions 0..n-1, position i under probe start
// start(i), in a table sized for them (reusing the old one when it is the
// right size).
func (x *lineIndex) rebuild(n int, start func(int) uint64) {
	size := 16
	for size*3 < n*4 {
		size *= 2
	}
	if len(x.tab) == size {
		clear(x.tab)
	} else {
		x.tab = make([]int32, size)
	}
	mask := uint64(size - 1)
	for i := range n {
		j := (start(i) >> 32) & mask
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
