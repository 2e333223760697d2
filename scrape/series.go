package scrape

import (
	"sort"
	"unsafe"
)

// SeriesSet is the identity of a successful scrape's samples, in their
// order, without their values: what the next scrape needs of the last one
// (the line cache, stale markers, scrape_series_added), kept instead of
// the []Sample batch so that the batch can be freed as soon as every sink
// has encoded it.
//
// A Sample is 80 bytes; an entry here is 12 and holds no pointer: the
// series hash and where the label set's encoding is (an index into the
// set's list of the label arena's chunks, which keeps them alive, and an
// offset), in two arrays. The set's label count and target-label mask are
// its shape's (shape.go), whose number its encoding starts with. The sample's name, Meta and
// Kind, which the samples of one family share, are a reference held once
// per run of samples that share it (runs). That holds when every set is
// the parser's compact form of one symbol table (the set keeps its newest
// view); otherwise the label sets are kept whole beside the entries (24
// bytes more each). A steady exposition keeps its set from scrape to
// scrape: a Parse whose samples have the identities of the last one's, in
// the same order, returns the same *SeriesSet (or one that shares its
// entries, when only a family's Meta is new), so it costs one comparison
// pass and no allocation.
//
// A SeriesSet is immutable: the parser, its Target and the forwarder's
// staleness tracker share one.
type SeriesSet struct {
	refs   []seriesRef
	runs   []seriesRun      // in order of start, the first at 0; the last (start: Len) ends the one before
	hashes []uint64         // the series hash of each sample
	pos    []uint32         // compact entries: where each sample's set is (setPos); nil when wide
	chunks []unsafe.Pointer // compact entries: the arena chunks of their sets
	view   *symView         // compact entries: the symbols of their sets
	wide   []LabelSet       // the label sets, when they cannot be packed; else nil
}

// seriesRef is what the samples of one family and kind share.
type seriesRef struct {
	name string
	meta *Meta
	kind Kind
}

// seriesRun: the entries from start up to the next run's take refs[ref].
type seriesRun struct{ start, ref uint32 }

// A compact set's position: chunk index << 16 | offset of its arena header
// (arenaChunk), or one of these for a set with no encoding. The chunk
// index so stays below maxSetChunks.
const (
	posEmpty     = 0xffffffff // the empty set
	posTarget    = 0xfffffffe // a set of only its table's target labels
	maxSetChunks = 0xffff
)

// labels returns the label set of sample i.
func (s *SeriesSet) labels(i int) LabelSet {
	if s.wide != nil {
		return s.wide[i]
	}
	switch pos := s.pos[i]; pos {
	case posEmpty:
		return LabelSet{}
	case posTarget:
		// Len and mask follow: every label is one of the table's.
		n := len(s.view.tl) / 2
		return LabelSet{syms: s.view, p: unsafe.Add(s.view.tl0(), arenaHeader), meta: uint64(n) | uint64(1<<n-1)<<32}
	default:
		p := unsafe.Add(s.chunks[pos>>16], pos&0xffff+arenaHeader)
		ls := LabelSet{syms: s.view, p: p}
		sh, _ := ls.shapeOf()
		ls.meta = sh.meta
		return ls
	}
}

// ref returns the reference of sample i. *k is the run to try first (the
// last sample's, for a sequential read) and is set to sample i's.
func (s *SeriesSet) ref(i int, k *int) *seriesRef {
	if j := *k; s.inRun(i, j) {
		return &s.refs[s.runs[j].ref]
	}
	return s.findRef(i, k)
}

// findRef is ref when sample i is not in run *k: the next run, else a
// binary search.
func (s *SeriesSet) findRef(i int, k *int) *seriesRef {
	j := *k + 1
	if !s.inRun(i, j) {
		j = sort.Search(len(s.runs), func(j int) bool { return int(s.runs[j].start) > i }) - 1
	}
	*k = j
	return &s.refs[s.runs[j].ref]
}

// inRun reports whether sample i is in run j.
func (s *SeriesSet) inRun(i, j int) bool {
	return j >= 0 && j+1 < len(s.runs) && int(s.runs[j].start) <= i && i < int(s.runs[j+1].start)
}

// packView returns the view compact entries can share for samples' label
// sets, or nil when some set is not the compact form of one table.
func packView(samples []Sample) *symView {
	var v *symView
	for i := range samples {
		ls := samples[i].Labels
		switch {
		case ls.Len() == 0:
		case ls.syms == nil || v != nil && ls.syms.tab != v.tab:
			return nil
		case v == nil || ls.syms.gen > v.gen:
			v = ls.syms // the newest view reads every older one's symbols
		}
	}
	if v == nil {
		v = &symView{} // no labels at all
	}
	return v
}

// NewSeriesSet returns the identities of samples, in order.
func NewSeriesSet(samples []Sample) *SeriesSet {
	s := &SeriesSet{hashes: make([]uint64, len(samples)), view: packView(samples)}
	var idx map[seriesRef]uint32
	last := -1
	for i := range samples {
		sm := &samples[i]
		r := seriesRef{name: sm.Name, meta: sm.Meta, kind: sm.Kind}
		// Samples of a family come in runs: most need no map lookup.
		if last < 0 || s.refs[last] != r {
			if idx == nil {
				idx = make(map[seriesRef]uint32)
			}
			k, ok := idx[r]
			if !ok {
				k = uint32(len(s.refs))
				s.refs = append(s.refs, r)
				idx[r] = k
			}
			last = int(k)
			s.runs = append(s.runs, seriesRun{start: uint32(i), ref: k})
		}
		s.hashes[i] = sm.Hash
	}
	s.runs = append(s.runs, seriesRun{start: uint32(len(samples))})
	if s.view != nil && !s.pack(samples) {
		s.view, s.chunks, s.pos = nil, nil, nil
	}
	if s.view == nil {
		s.wide = make([]LabelSet, len(samples))
		for i := range samples {
			s.wide[i] = samples[i].Labels
		}
	}
	return s
}

// pack stores where the compact label sets of samples are, or reports
// false when they span more chunks than an entry can number.
func (s *SeriesSet) pack(samples []Sample) bool {
	s.pos = make([]uint32, len(samples))
	var idx map[unsafe.Pointer]int // chunk -> index, once there are a few
	ci := -1
	for i := range samples {
		ls := samples[i].Labels
		switch {
		case ls.Len() == 0:
			s.pos[i] = posEmpty
			continue
		case ls.own() == 0:
			s.pos[i] = posTarget
			continue
		}
		base, off := arenaChunk(ls.p)
		if ci < 0 || s.chunks[ci] != base {
			ok := false
			if idx != nil {
				ci, ok = idx[base]
			} else {
				for ci = range s.chunks {
					if ok = s.chunks[ci] == base; ok {
						break
					}
				}
			}
			if !ok {
				if len(s.chunks) == maxSetChunks {
					return false
				}
				ci = len(s.chunks)
				s.chunks = append(s.chunks, base)
				switch {
				case idx != nil:
					idx[base] = ci
				case len(s.chunks) > 8:
					idx = make(map[unsafe.Pointer]int)
					for k, c := range s.chunks {
						idx[c] = k
					}
				}
			}
		}
		s.pos[i] = uint32(ci)<<16 | off
	}
	return true
}

// Len returns the number of samples described; 0 for a nil set.
func (s *SeriesSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.hashes)
}

// Hash returns the series hash of sample i.
func (s *SeriesSet) Hash(i int) uint64 { return s.hashes[i] }

// Sample returns sample i's identity: Name, Labels, Kind, Meta and Hash,
// the value and timestamp zero.
func (s *SeriesSet) Sample(i int) Sample {
	k := -1
	r := s.ref(i, &k)
	return Sample{Name: r.name, Labels: s.labels(i), Kind: r.kind, Meta: r.meta, Hash: s.hashes[i]}
}

// Describes reports whether s is the identity of samples, in order.
func (s *SeriesSet) Describes(samples []Sample) bool {
	if s.Len() != len(samples) {
		return false
	}
	k := 0
	for i := range samples {
		if !s.same(i, &k, &samples[i], true) {
			return false
		}
	}
	return true
}

// same reports whether sample i of s has sm's identity (its Meta too,
// when meta); *k is as for ref.
func (s *SeriesSet) same(i int, k *int, sm *Sample, meta bool) bool {
	r := s.ref(i, k)
	return s.hashes[i] == sm.Hash && r.kind == sm.Kind && sameString(r.name, sm.Name) && (!meta || r.meta == sm.Meta) &&
		(s.sameEncoding(i, sm.Labels) || s.labels(i).Equal(sm.Labels))
}

// sameEncoding reports whether ls is the compact set whose encoding entry
// i locates (a steady scrape's), without reading it: an arena chunk holds
// the sets of one table, and one encoding is one set.
func (s *SeriesSet) sameEncoding(i int, ls LabelSet) bool {
	if s.pos == nil || ls.syms == nil {
		return false
	}
	pos := s.pos[i]
	return pos < posTarget && unsafe.Add(s.chunks[pos>>16], pos&0xffff+arenaHeader) == ls.p
}

// sameString is a == b, without a call when both are the same interned
// string (a steady scrape's names are).
func sameString(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	return unsafe.StringData(a) == unsafe.StringData(b) || a == b
}

// SameSeries reports whether s and o hold the same series (by hash) in
// the same order; a nil set holds none.
func (s *SeriesSet) SameSeries(o *SeriesSet) bool {
	if s == o {
		return true
	}
	if s.Len() != o.Len() {
		return false
	}
	for i := range s.Len() {
		if s.Hash(i) != o.Hash(i) {
			return false
		}
	}
	return true
}

// Next returns the set describing out, the samples of the scrape after
// the one s (which may be nil) describes: s itself when nothing changed, a
// set sharing its entries when only some family's Meta is new (exemplars,
// a changed HELP), else a new one.
func (s *SeriesSet) Next(out []Sample) *SeriesSet {
	if s.Len() != len(out) || len(out) == 0 {
		return NewSeriesSet(out)
	}
	metaSame := true
	k := 0
	for i := range out {
		if !s.same(i, &k, &out[i], false) {
			return NewSeriesSet(out)
		}
		metaSame = metaSame && s.refs[s.runs[k].ref].meta == out[i].Meta
	}
	if metaSame {
		return s
	}
	// Each reference must take one Meta; when two samples that shared
	// one now have different ones, references are rebuilt.
	nrefs := make([]seriesRef, len(s.refs))
	set := make([]bool, len(s.refs))
	for j, run := range s.runs[:len(s.runs)-1] {
		for i := int(run.start); i < int(s.runs[j+1].start); i++ {
			m := out[i].Meta
			switch r := run.ref; {
			case !set[r]:
				nrefs[r], set[r] = s.refs[r], true
				nrefs[r].meta = m
			case nrefs[r].meta != m:
				return NewSeriesSet(out)
			}
		}
	}
	return &SeriesSet{refs: nrefs, runs: s.runs, hashes: s.hashes, pos: s.pos, chunks: s.chunks, view: s.view, wide: s.wide}
}

// labelSets yields the label set of each entry.
func (s *SeriesSet) labelSets(yield func(LabelSet) bool) {
	if s == nil {
		return
	}
	for i := range s.hashes {
		if !yield(s.labels(i)) {
			return
		}
	}
}
