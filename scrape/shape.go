package scrape

import (
	"encoding/binary"
	"slices"
)

// labelShape is what the compact sets of one table that have the same
// label names at the same positions share: their LabelSet meta (Len and
// target-label mask) and the name references of the labels they store
// themselves. A set's encoding starts with its shape's number and then
// holds only its values' references, so the names, which repeat in every
// series of a family, are held once per table instead of once per series
// (a byte or two per label), and a SeriesSet entry finds a set's Len and
// mask from its encoding instead of keeping them (4 bytes per series).
// Shapes are numbered in the order they were first seen; a table has few
// (the benchmark's targets have 8), so a shape's number takes one byte.
type labelShape struct {
	meta  uint64   // LabelSet.meta of the shape's sets
	names []uint32 // name references of the labels a set stores itself, in order
	// strs are those names' strings and props the properties all of
	// them have: a set's reader takes them without looking the
	// references up.
	strs  []string
	props StrProps
}

// shape returns the number of the shape with meta and names, adding it
// (and a new view that holds it) when new. names is not kept.
func (t *symTable) shape(meta uint64, names []uint32) uint32 {
	key := binary.LittleEndian.AppendUint64(t.shapeKey[:0], meta)
	for _, r := range names {
		key = appendVarint(key, r)
	}
	t.shapeKey = key
	if id, ok := t.shapes[string(key)]; ok {
		return id
	}
	if t.shapes == nil {
		t.shapes = make(map[string]uint32)
	}
	v := t.view
	id := uint32(len(v.shapes))
	// Elements past a view's length are no reader's: appending in
	// place (when there is room) changes nothing an older view shows.
	n := *v
	n.gen++
	sh := labelShape{meta: meta, names: slices.Clone(names), strs: make([]string, len(names)), props: PropsAll}
	for i, r := range names {
		var p StrProps
		sh.strs[i], p = v.strProps(r)
		sh.props &= p
	}
	n.shapes = append(v.shapes, sh)
	t.view = &n
	t.shapes[string(key)] = id
	return id
}

// size is the table's symbols and shapes: what it holds, for the check
// whether most of it went unused (wasteful, countLive).
func (t *symTable) size() int { return int(t.n) + len(t.view.shapes) }

// shapeOf returns the shape of compact set s, which stores labels of its
// own, and the offset of its first value reference.
func (s LabelSet) shapeOf() (*labelShape, int) {
	if id := *(*byte)(s.p); id < 0x80 { // a table's first 128 shapes
		return &s.syms.shapes[id], 1
	}
	return s.shapeOfLong()
}

//go:noinline
func (s LabelSet) shapeOfLong() (*labelShape, int) {
	id, j := varintLong(s.p, 0)
	return &s.syms.shapes[id], j
}
