package scrape

import (
	"slices"
	"unicode/utf8"
	"unsafe"
)

const (
	symPageBits = 10
	symPageSize = 1 << symPageBits
	// symMinKeep is the table size below which a table is never checked
	// for symbols no series uses any more.
	symMinKeep = 4096
	// symSteadyDrop is the number of Parses that did not use a table's
	// string index after which it is dropped (rebuilt when next needed).
	symSteadyDrop = 2
)

// symPage locates its symbols' bytes: chunk index << 32 | offset << 16 |
// props << propShift | length, or symLong as the length for a string that
// has a chunk of its own. 8 bytes a symbol where a string header took 16,
// and the bytes packed in chunks without a heap object each; nothing for
// the garbage collector to scan. A shared string is at most symSharedMax
// bytes, so the length takes 11 of its 16 bits and the string's StrProps,
// computed once when it is added (strprops.go), sit above it at no cost
// to reading the string.
type symPage [symPageSize]uint64

const (
	symLenMask   = 0x7ff    // the length bits of a slot
	symLong      = 0x7ff    // length field: the string is its whole chunk
	symChunkMax  = 64 << 10 // bytes of a shared chunk (offsets are 16 bits)
	symChunkMin  = 1 << 10  // the first chunk's; each next one doubles
	symSharedMax = 1 << 10  // longer strings get a chunk of their own
)

// A shared string's length stays below symLong (a compile-time check).
const _ = uint(symLong - symSharedMax - 1)

// symView is what a compact LabelSet reads its strings from: the pages and
// chunks of one table as they were when the set was made. Pages and chunks
// are appended, never moved, and a slot (and the bytes it locates) is
// written once, before any set refers to it, so a view stays valid and
// race-free while the parser goes on adding symbols (a new page or chunk
// makes a new view; the old one keeps its own lists).
type symView struct {
	tab    *symTable
	gen    uint32 // views of a table in the order they were made
	pages  []*symPage
	chunks [][]byte
	bases  []unsafe.Pointer // the first byte of each chunk
	tl     []uint32         // the table's target labels, name and value refs, sorted
	shapes []labelShape     // the shapes of the table's sets, by number (shape.go)
}

// str returns symbol r. An empty string is chunk 0's first byte, length
// 0 (a table always has a chunk).
func (v *symView) str(r uint32) string {
	s, _ := v.strProps(r)
	return s
}

// strProps returns symbol r and its properties.
func (v *symView) strProps(r uint32) (string, StrProps) {
	loc := v.pages[r>>symPageBits][r&(symPageSize-1)]
	p := StrProps(loc >> propShift & propMask)
	if n := loc & symLenMask; n != symLong {
		return unsafe.String((*byte)(unsafe.Add(v.bases[loc>>32], loc>>16&0xffff)), int(n)), p
	}
	c := v.chunks[loc>>32]
	return unsafe.String(unsafe.SliceData(c), len(c)), p
}

// next returns a copy of v with the given pages, as the table's newest
// view; with chunk c too, when not nil.
func (v *symView) next(pages []*symPage, c []byte) *symView {
	n := &symView{tab: v.tab, gen: v.gen + 1, pages: pages, chunks: v.chunks, bases: v.bases, tl: v.tl, shapes: v.shapes}
	if c != nil {
		k := len(v.chunks)
		n.chunks = append(v.chunks[:k:k], c)
		n.bases = append(v.bases[:k:k], unsafe.Pointer(unsafe.SliceData(c)))
	}
	return n
}

// symTable holds a target's label names and values, each once, numbered
// in the order they were first seen. The parser's compact LabelSets refer to
// them by number. The table only grows; when it holds well over twice the
// symbols its current series use (label values that churn), the parser
// starts a new one (rotate) and its next Parse re-encodes every series.
//
// The string index (string -> number) is only needed for series the line
// cache does not know; a table whose index went unused for a few Parses
// (a steady text exposition) drops it, and the next new series rebuilds it
// from the pages. Protobuf, which has no line cache, keeps it.
type symTable struct {
	view   *symView
	tl     Labels // the target labels (non-empty values) tl holds
	n      uint32
	idx    map[string]uint32
	used   bool // the index was used in this Parse
	steady int  // Parses in a row that did not use the index
	live   int  // symbols in use at the last check; -1 until the first Parse into the table ends
	chunk  int  // size of the last shared chunk
	fill   int  // bytes used of the last chunk

	shapes   map[string]uint32 // shape key (meta, names) -> number (shape.go)
	shapeKey []byte            // scratch for a shape's key
}

// newSymTable returns a table for a target with labels tl (sorted).
func newSymTable(tl Labels) *symTable {
	t := &symTable{live: -1, chunk: symChunkMin}
	t.view = (&symView{tab: t}).next(nil, make([]byte, symChunkMin))
	var refs []uint32
	for _, l := range tl {
		if l.Value != "" {
			t.tl = append(t.tl, l)
			refs = append(refs, t.ref(l.Name), t.ref(l.Value))
		}
	}
	t.view.tl = refs
	return t
}

// ref returns the number of s, adding it when new. s must not pin a
// larger string (the parser's strings are exact copies).
func (t *symTable) ref(s string) uint32 {
	if r, ok := t.index()[s]; ok {
		return r
	}
	return t.addString(s)
}

// bytes returns the table's copy of b, adding a copy when new, or ok=false
// when b is not valid UTF-8. The parser reads label names and values with
// it: a string the table holds is neither copied nor checked again, and
// no second table (the interner) holds them.
func (t *symTable) bytes(b []byte) (s string, ok bool) {
	if r, hit := t.index()[string(b)]; hit {
		return t.view.str(r), true
	}
	if !utf8.Valid(b) {
		return "", false
	}
	return t.view.str(t.add(b)), true
}

// string is bytes for a string the caller already owns (protobuf decoding):
// its copy is kept on a miss.
func (t *symTable) string(s string) (string, bool) {
	if r, hit := t.index()[s]; hit {
		return t.view.str(r), true
	}
	if !utf8.ValidString(s) {
		return "", false
	}
	return t.view.str(t.addString(s)), true
}

// own returns the table's copy of s, adding one when new.
func (t *symTable) own(s string) string { return t.view.str(t.ref(s)) }

// add appends s as a new symbol. Only valid UTF-8 is indexed: bytes and
// string never return an unchecked string (a rewriter's output, which is
// stored but may be invalid, gets a number of its own each time).
func (t *symTable) add(b []byte) uint32 {
	r := t.n
	v := t.view
	if pg := int(r >> symPageBits); pg == len(v.pages) {
		v = v.next(append(v.pages[:pg:pg], new(symPage)), nil)
	}
	var loc uint64
	last := len(v.chunks) - 1
	switch {
	case len(b) == 0:
	case len(b) > symSharedMax:
		loc = uint64(last+1)<<32 | symLong
		v = v.next(v.pages, slices.Clone(b))
		t.fill = len(b) // the next short string starts a shared chunk
	default:
		if len(v.chunks[last])-t.fill < len(b) {
			t.chunk = min(2*t.chunk, symChunkMax)
			v = v.next(v.pages, make([]byte, t.chunk))
			last, t.fill = last+1, 0
		}
		// Bytes past fill are no reader's yet: writing them in place
		// changes nothing a view shows.
		copy(v.chunks[last][t.fill:], b)
		loc = uint64(last)<<32 | uint64(t.fill)<<16 | uint64(len(b))
		t.fill += len(b)
	}
	v.pages[r>>symPageBits][r&(symPageSize-1)] = loc | uint64(propsOf(b))<<propShift
	t.view = v
	t.n++
	if s, p := v.strProps(r); p&PropUTF8 != 0 {
		t.idx[s] = r
	}
	return r
}

// addString is add for a string.
func (t *symTable) addString(s string) uint32 {
	return t.add(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// index returns the string index, rebuilt from the pages when it was
// dropped, and marks it used in this Parse.
func (t *symTable) index() map[string]uint32 {
	if t.idx == nil {
		t.reindex()
	}
	t.used = true
	return t.idx
}

func (t *symTable) reindex() {
	t.idx = make(map[string]uint32, t.n)
	for r := range t.n {
		if s, p := t.view.strProps(r); p&PropUTF8 != 0 {
			t.idx[s] = r
		}
	}
}

// endParse closes a Parse: the index goes after symSteadyDrop Parses that
// did not use it.
func (t *symTable) endParse() {
	if t.used {
		t.steady, t.used = 0, false
		return
	}
	t.steady++
	if t.steady >= symSteadyDrop {
		t.idx = nil
	}
}

// wasteful reports whether the table has grown enough since its last check
// that a check (counting the symbols in use) is due.
func (t *symTable) wasteful() bool { return t.live >= 0 && t.size() > 2*t.live+symMinKeep }

// countLive counts the distinct symbols and shapes of this table that sets
// use, and remembers it for wasteful.
func (t *symTable) countLive(sets func(yield func(LabelSet) bool)) int {
	nsh := uint32(len(t.view.shapes))
	seen := make([]uint64, (t.n+nsh+63)/64)
	live := 0
	mark := func(r uint32) {
		if seen[r/64]&(1<<(r%64)) == 0 {
			seen[r/64] |= 1 << (r % 64)
			live++
		}
	}
	for _, r := range t.view.tl {
		mark(r)
	}
	for s := range sets {
		if s.syms == nil || s.syms.tab != t || s.own() == 0 {
			continue
		}
		id, _ := varint(s.p, 0)
		mark(t.n + id) // shapes count after the symbols
		for r := range s.ownRefs {
			mark(r)
		}
	}
	t.live = live
	return live
}

// targetMask returns the positions in ls of the target labels tl when ls
// holds every one of them (name and value) and has at most 32 labels, else
// 0 (ls is then stored whole).
func targetMask(ls, tl Labels) uint32 {
	if len(tl) == 0 || len(ls) > 32 {
		return 0
	}
	var mask uint32
	j := 0
	for i := range ls {
		if j < len(tl) && ls[i].Name == tl[j].Name {
			if ls[i].Value != tl[j].Value {
				return 0
			}
			mask |= 1 << uint(i)
			j++
		}
	}
	if j < len(tl) {
		return 0
	}
	return mask
}

// sameTargetLabels reports whether a table made for target labels tl holds
// those of opt (held: the non-empty ones).
func sameTargetLabels(held, tl Labels) bool {
	j := 0
	for _, l := range tl {
		if l.Value == "" {
			continue
		}
		if j == len(held) || held[j] != l {
			return false
		}
		j++
	}
	return j == len(held)
}
