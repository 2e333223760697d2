package scrape

import (
	"math/bits"
	"unsafe"
)

// A compact LabelSet stores its own labels (those its table's target labels
// do not cover) as a byte string: its shape's number (shape.go: the names
// of those labels, held once per table), then each label's value's symbol
// reference, each an unsigned LEB128 varint (7 bits a byte, low bits
// first, the high bit set on every byte but the last). A table's first
// shapes and its common values are its first numbers and take one byte;
// the values of up to 16384 symbols take two, so a label costs 1 to 2
// bytes, plus a byte a set, where two uint32s took 8. The encoding is
// canonical (a reference has one form, a shape one number), so two sets of
// one table hold the same labels exactly when their bytes are equal.
// Reading is sequential: a cursor walks the labels in order.

// maxVarint is the longest encoding of a uint32.
const maxVarint = 5

// varintLen returns the encoded length of r.
func varintLen(r uint32) int { return (bits.Len32(r|1) + 6) / 7 }

// appendVarint appends the encoding of r.
func appendVarint(b []byte, r uint32) []byte {
	for r >= 0x80 {
		b = append(b, byte(r)|0x80)
		r >>= 7
	}
	return append(b, byte(r))
}

// The readers below take a set's storage p and an offset into it, and
// return the offset after what they read: a pointer one past the encoding
// (past its chunk, for the last set of one) would not be valid Go.

// at returns the byte at offset i of p.
func at(p unsafe.Pointer, i int) byte { return *(*byte)(unsafe.Add(p, i)) }

// varint reads the reference at offset i of p and returns it and the
// offset after it. p must hold a complete encoding; nothing past it is
// read. The one-byte case (a target's names and first values) is inlined
// where it matters by hand (LabelSet.AppendTo): with the call for longer
// ones, varint is over the inliner's budget. varintLong is quick for two
// bytes.
//
// A branch-free decoder (four bytes loaded at once, the length from the
// stop bits) was no faster on sets of random shapes (47 against 44 ns a
// set in BenchmarkLabelSetRead/AppendTo) and reads past the encoding.
func varint(p unsafe.Pointer, i int) (uint32, int) {
	if b := at(p, i); b < 0x80 {
		return uint32(b), i + 1
	}
	return varintLong(p, i)
}

//go:noinline
func varintLong(p unsafe.Pointer, i int) (uint32, int) {
	if c := at(p, i+1); c < 0x80 {
		return uint32(at(p, i)&0x7f) | uint32(c)<<7, i + 2
	}
	var r uint32
	for shift := uint(0); ; shift += 7 {
		b := at(p, i)
		i++
		r |= uint32(b&0x7f) << shift
		if b < 0x80 {
			return r, i
		}
	}
}

// skipVarints returns the offset after the n references that start at
// offset i of p.
func skipVarints(p unsafe.Pointer, i, n int) int {
	for n > 0 {
		if at(p, i) < 0x80 {
			n--
		}
		i++
	}
	return i
}

// equalVarints reports whether the n references at a and at b are the same.
func equalVarints(a, b unsafe.Pointer, n int) bool {
	for i := 0; n > 0; i++ {
		x := at(a, i)
		if x != at(b, i) {
			return false
		}
		if x < 0x80 {
			n--
		}
	}
	return true
}

// cursor reads a compact set's label references in order.
type cursor struct {
	v     *symView
	p     unsafe.Pointer // the set's own references
	i     int            // offset in p of the next value
	m     uint32         // target-label positions from the next label on (bit 0: the next)
	k     int            // index in v.tl of the next target label's name
	names []uint32       // the shape's names of the set's own labels, from the next one on
}

func (s LabelSet) cursor() cursor {
	c := cursor{v: s.syms, p: s.p, m: s.mask()}
	if s.meta != uint64(s.Len())|uint64(1<<s.Len()-1)<<32 { // own labels
		sh, i := s.shapeOf()
		c.i, c.names = i, sh.names
	}
	return c
}

// next returns the next label's name and value references.
func (c *cursor) next() (name, value uint32) {
	if c.m&1 != 0 {
		c.m >>= 1
		name, value = c.v.tl[c.k], c.v.tl[c.k+1]
		c.k += 2
		return name, value
	}
	c.m >>= 1
	name, c.names = c.names[0], c.names[1:]
	value, c.i = varint(c.p, c.i)
	return name, value
}

// reader reads a set's labels in order, either form.
type reader struct {
	plain []Label // the plain form's labels not yet read
	c     cursor
}

func (s LabelSet) reader() reader {
	if s.syms == nil {
		return reader{plain: unsafe.Slice((*Label)(s.p), s.Len())}
	}
	return reader{c: s.cursor()}
}

// next returns the next label; the caller reads at most Len.
func (r *reader) next() Label {
	if r.c.v == nil {
		l := r.plain[0]
		r.plain = r.plain[1:]
		return l
	}
	n, v := r.c.next()
	return Label{Name: r.c.v.str(n), Value: r.c.v.str(v)}
}

// labelArena hands out the parser's compact label storage: the encodings of
// many series share one chunk, which lives as long as any of its sets.
// Chunks are sized from the last Parse's new labels (hint), so that a
// steady target's few new series do not pin a large one. Each encoding
// follows a 2-byte header, its offset in the chunk, so that a SeriesSet
// can keep the chunk and a 32-bit position instead of a pointer
// (arenaChunk); offsets so stay below 64 KiB.
type labelArena struct {
	chunk []byte
	hint  int      // bytes the next Parse is expected to store
	names []uint32 // scratch: a set's own labels' names, then values
}

const (
	labelArenaChunk = 32 << 10 // bytes
	arenaHeader     = 2        // bytes before each encoding: its offset, little-endian
)

// tl0 is the target labels' first byte, which a set of only target labels
// points past (tl holds at least 8 bytes).
func (v *symView) tl0() unsafe.Pointer { return unsafe.Pointer(&v.tl[0]) }

// arenaChunk returns the first byte of the chunk that holds the encoding
// at p, and the offset of its header in it.
func arenaChunk(p unsafe.Pointer) (chunk unsafe.Pointer, off uint32) {
	h := unsafe.Add(p, -arenaHeader)
	off = uint32(*(*byte)(h)) | uint32(*(*byte)(unsafe.Add(h, 1)))<<8
	return unsafe.Add(h, -int(off)), off
}

// hintBytes is the arena hint for a Parse expected to store labels labels.
func hintBytes(labels int) int { return 3*labels + 256 }

// encode stores ls as a compact LabelSet in t: when ls holds each of t's
// target labels, only the others (and a mask of where those go).
func (a *labelArena) encode(t *symTable, ls Labels) LabelSet {
	if len(ls) == 0 {
		return LabelSet{}
	}
	mask := targetMask(ls, t.tl)
	meta := uint64(len(ls)) | uint64(mask)<<32
	if len(ls) == bits.OnesCount32(mask) {
		// Every label is the table's: p is set (a SeriesSet tells an
		// empty set by a nil one) but never read. It is where a
		// SeriesSet entry finds it, as if tl0 were a chunk.
		return LabelSet{syms: t.view, p: unsafe.Add(t.view.tl0(), arenaHeader), meta: meta}
	}
	own := len(ls) - bits.OnesCount32(mask)
	refs := a.names[:0]
	for i, l := range ls {
		if mask>>uint(i)&1 == 0 {
			refs = append(refs, t.ref(l.Name), t.ref(l.Value))
		}
	}
	for i := range own { // names first, then values
		refs = append(refs, refs[2*i])
	}
	a.names = refs
	id := t.shape(meta, refs[2*own:])
	// Room for the longest encoding, so that one pass writes it (a chunk
	// so wastes at most that much).
	worst := arenaHeader + maxVarint*(1+own)
	if cap(a.chunk)-len(a.chunk) < worst || len(a.chunk) > 0xffff {
		a.chunk = make([]byte, 0, max(worst, min(labelArenaChunk, a.hint)))
	}
	a.chunk = append(a.chunk, byte(len(a.chunk)), byte(len(a.chunk)>>8))
	start := len(a.chunk)
	a.chunk = appendVarint(a.chunk, id)
	for i := range own {
		a.chunk = appendVarint(a.chunk, refs[2*i+1])
	}
	return LabelSet{syms: t.view, p: unsafe.Pointer(&a.chunk[start]), meta: meta}
}

// ownRefs yields the name and value references of the labels a compact
// set stores itself (the names from its shape), in order.
func (s LabelSet) ownRefs(yield func(uint32) bool) {
	if s.own() == 0 {
		return
	}
	sh, i := s.shapeOf()
	for _, n := range sh.names {
		var r uint32
		r, i = varint(s.p, i)
		if !yield(n) || !yield(r) {
			return
		}
	}
}
