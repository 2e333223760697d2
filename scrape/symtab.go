package scrape

import "unsafe"

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

type symPage [symPageSize]string

// symView is what a compact LabelSet reads its strings from: the pages of
// one table as they were when the set was made. Pages are appended, never
// moved, and a slot is written once, before any set refers to it, so a view
// stays valid and race-free while the parser goes on adding symbols (a new
// page makes a new view; the old one keeps its own page list).
type symView struct {
	tab   *symTable
	pages []*symPage
}

func (v *symView) str(r uint32) string { return v.pages[r>>symPageBits][r&(symPageSize-1)] }

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
	n      uint32
	idx    map[string]uint32
	used   bool // the index was used in this Parse
	steady int  // Parses in a row that did not use the index
	live   int  // symbols in use at the last check
}

func newSymTable() *symTable {
	t := &symTable{}
	t.view = &symView{tab: t}
	return t
}

// ref returns the number of s, adding it when new. s must stay unmodified
// (interned strings and Go strings are).
func (t *symTable) ref(s string) uint32 {
	if t.idx == nil {
		t.reindex()
	}
	t.used = true
	if r, ok := t.idx[s]; ok {
		return r
	}
	r := t.n
	if pg := int(r >> symPageBits); pg == len(t.view.pages) {
		pages := append(t.view.pages[:pg:pg], new(symPage))
		t.view = &symView{tab: t, pages: pages}
	}
	t.view.pages[r>>symPageBits][r&(symPageSize-1)] = s
	t.n++
	t.idx[s] = r
	return r
}

func (t *symTable) reindex() {
	t.idx = make(map[string]uint32, t.n)
	for r := range t.n {
		t.idx[t.view.str(r)] = r
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
func (t *symTable) wasteful() bool { return int(t.n) > 2*t.live+symMinKeep }

// countLive counts the distinct symbols of this table that sets use, and
// remembers it for wasteful.
func (t *symTable) countLive(sets func(yield func(LabelSet) bool)) int {
	seen := make([]uint64, (t.n+63)/64)
	live := 0
	for s := range sets {
		if s.syms == nil || s.syms.tab != t {
			continue
		}
		for _, r := range unsafe.Slice((*uint32)(s.p), 2*s.n) {
			if seen[r/64]&(1<<(r%64)) == 0 {
				seen[r/64] |= 1 << (r % 64)
				live++
			}
		}
	}
	t.live = live
	return live
}

// labelArena hands out the parser's compact label storage: refs of many
// series share one chunk, which lives as long as any of its sets.
type labelArena struct {
	chunk []uint32
	hint  int // refs the last Parse stored: a small target gets small chunks
}

const labelArenaChunk = 16 << 10 // uint32s: 64 KiB

// encode stores ls as a compact LabelSet in t.
func (a *labelArena) encode(t *symTable, ls Labels) LabelSet {
	if len(ls) == 0 {
		return LabelSet{}
	}
	need := 2 * len(ls)
	if cap(a.chunk)-len(a.chunk) < need {
		a.chunk = make([]uint32, 0, max(need, min(labelArenaChunk, a.hint)))
	}
	start := len(a.chunk)
	for _, l := range ls {
		a.chunk = append(a.chunk, t.ref(l.Name), t.ref(l.Value))
	}
	return LabelSet{syms: t.view, p: unsafe.Pointer(&a.chunk[start]), n: len(ls)}
}
