package scrape

import (
	"unsafe"
)

// SeriesSet is the identity of a successful scrape's samples, in their
// order, without their values: what the next scrape needs of the last one
// (the line cache, stale markers, scrape_series_added), kept instead of
// the []Sample batch so that the batch can be freed as soon as every sink
// has encoded it.
//
// A Sample is 80 bytes; an entry here is 24: the label set's storage, the
// series hash, and its label count and target-label mask packed with a
// 4-byte reference to the sample's name, Meta and Kind (which the samples
// of one family share). That holds when every set is the parser's compact
// form of one symbol table (the set keeps its newest view); otherwise the
// label sets are kept whole beside the entries (24 bytes more each). A
// steady exposition keeps its set from scrape to scrape: a Parse whose
// samples have the identities of the last one's, in the same order,
// returns the same *SeriesSet (or one that shares its entries, when only a
// family's Meta is new), so it costs one comparison pass and no
// allocation.
//
// A SeriesSet is immutable: the parser, its Target and the forwarder's
// staleness tracker share one.
type SeriesSet struct {
	refs    []seriesRef
	entries []seriesEntry
	view    *symView   // compact entries: the symbols of their sets
	wide    []LabelSet // the label sets, when they cannot be packed; else nil
}

// seriesRef is what the samples of one family and kind share.
type seriesRef struct {
	name string
	meta *Meta
	kind Kind
}

// seriesEntry is one sample's identity.
type seriesEntry struct {
	p    unsafe.Pointer // the compact label set's storage
	hash uint64
	bits uint64 // the ref (low 32 bits), the set's Len (8 bits), its target mask (high 24 bits)
}

func (e *seriesEntry) ref() uint32 { return uint32(e.bits) }

// labels returns the label set of sample i.
func (s *SeriesSet) labels(i int) LabelSet {
	if s.wide != nil {
		return s.wide[i]
	}
	e := &s.entries[i]
	if e.p == nil {
		return LabelSet{}
	}
	return LabelSet{syms: s.view, p: e.p, meta: e.bits>>32&0xff | e.bits>>40<<32}
}

// packView returns the view compact entries can share for samples' label
// sets, or nil when some set is not the compact form of one table with
// fewer than 256 labels and its target labels among the first 24.
func packView(samples []Sample) *symView {
	var v *symView
	for i := range samples {
		ls := samples[i].Labels
		switch {
		case ls.Len() == 0:
		case ls.syms == nil || ls.Len() > 0xff || ls.mask() >= 1<<24 || v != nil && ls.syms.tab != v.tab:
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
	s := &SeriesSet{entries: make([]seriesEntry, len(samples)), view: packView(samples)}
	if s.view == nil {
		s.wide = make([]LabelSet, len(samples))
	}
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
		}
		s.entries[i] = seriesEntry{hash: sm.Hash, bits: uint64(last)}
		if s.wide != nil {
			s.wide[i] = sm.Labels
		} else if ls := sm.Labels; ls.Len() > 0 {
			s.entries[i].p = ls.p
			s.entries[i].bits |= uint64(ls.Len())<<32 | uint64(ls.mask())<<40
		}
	}
	return s
}

// Len returns the number of samples described; 0 for a nil set.
func (s *SeriesSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.entries)
}

// Hash returns the series hash of sample i.
func (s *SeriesSet) Hash(i int) uint64 { return s.entries[i].hash }

// Sample returns sample i's identity: Name, Labels, Kind, Meta and Hash,
// the value and timestamp zero.
func (s *SeriesSet) Sample(i int) Sample {
	e := &s.entries[i]
	r := &s.refs[e.ref()]
	return Sample{Name: r.name, Labels: s.labels(i), Kind: r.kind, Meta: r.meta, Hash: e.hash}
}

// name returns sample i's name, for the line cache.
func (s *SeriesSet) name(i int32) string { return s.refs[s.entries[i].ref()].name }

// Describes reports whether s is the identity of samples, in order.
func (s *SeriesSet) Describes(samples []Sample) bool {
	if s.Len() != len(samples) {
		return false
	}
	for i := range samples {
		if !s.same(i, &samples[i], true) {
			return false
		}
	}
	return true
}

// same reports whether sample i of s has sm's identity (its Meta too,
// when meta).
func (s *SeriesSet) same(i int, sm *Sample, meta bool) bool {
	e := &s.entries[i]
	r := &s.refs[e.ref()]
	return e.hash == sm.Hash && r.kind == sm.Kind && r.name == sm.Name && (!meta || r.meta == sm.Meta) &&
		sameLabels(s.labels(i), sm.Labels)
}

// sameString is a == b, without a call when both are the same interned
// string (a steady scrape's names are).
func sameString(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	return unsafe.StringData(a) == unsafe.StringData(b) || a == b
}

// sameLabels reports whether a and b are the same label set; the sets
// of a steady scrape are the same memory, which is checked first.
func sameLabels(a, b LabelSet) bool {
	return a.Same(b) || a.Equal(b)
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
	entries, refs := s.entries[:len(out)], s.refs
	for i := range out {
		e, sm := &entries[i], &out[i]
		if e.hash != sm.Hash {
			return NewSeriesSet(out)
		}
		r := &refs[e.ref()]
		if r.kind != sm.Kind || !sameString(r.name, sm.Name) || !sameLabels(s.labels(i), sm.Labels) {
			return NewSeriesSet(out)
		}
		metaSame = metaSame && r.meta == sm.Meta
	}
	if metaSame {
		return s
	}
	// Each reference must take one Meta; when two samples that shared
	// one now have different ones, references are rebuilt.
	nrefs := make([]seriesRef, len(refs))
	set := make([]bool, len(refs))
	for i := range out {
		k := entries[i].ref()
		m := out[i].Meta
		switch {
		case !set[k]:
			nrefs[k], set[k] = refs[k], true
			nrefs[k].meta = m
		case nrefs[k].meta != m:
			return NewSeriesSet(out)
		}
	}
	return &SeriesSet{refs: nrefs, entries: s.entries, view: s.view, wide: s.wide}
}

// labelSets yields the label set of each entry.
func (s *SeriesSet) labelSets(yield func(LabelSet) bool) {
	if s == nil {
		return
	}
	for i := range s.entries {
		if !yield(s.labels(i)) {
			return
		}
	}
}
