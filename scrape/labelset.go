package scrape

import (
	"iter"
	"math/bits"
	"slices"
	"strings"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// LabelSet is a series' labels as a Sample carries them: immutable, sorted
// by name, names unique, without __name__. It is a 24-byte value with two
// forms behind one API:
//
//   - plain: a view of a Labels slice (SetOf), for labels built by hand,
//     by relabeling outside the parser or by aggregation;
//   - compact: what the parser makes of a scraped series, a varint
//     reference to its shape (the label names, held once per table) and
//     one varint symbol reference per value into its target's symbol
//     table (symtab.go, shape.go, labelenc.go), 1 to 2 bytes per label
//     instead of Label's 32, the strings themselves held once per target.
//     The target's own
//     labels (job, instance, ...), which every series of the target
//     carries, are held once by the table: a set stores only where they
//     go (a bit mask).
//
// Read it with AppendTo (the fast way to read every label), All, Get or
// Has; At reads a compact set from its start, so a loop over At costs
// quadratic time. Compare with Equal. The zero LabelSet is empty.
type LabelSet struct {
	syms *symView       // compact form: the symbols the refs index; nil when plain
	p    unsafe.Pointer // plain: *Label, the first of Len; compact: the first byte of its own refs' encoding
	// meta is Len in the low 32 bits and, for a compact set that leaves
	// its table's target labels to the table, the positions they take
	// (bit i: label i is one) in the high 32.
	meta uint64
}

// SetOf returns ls as a LabelSet without copying it: ls must be sorted with
// unique names and must not be modified afterwards.
func SetOf(ls Labels) LabelSet {
	if len(ls) == 0 {
		return LabelSet{}
	}
	return LabelSet{p: unsafe.Pointer(unsafe.SliceData(ls)), meta: uint64(len(ls))}
}

// SetFrom returns a LabelSet of the given name/value pairs, sorted.
func SetFrom(pairs ...string) LabelSet {
	ls := make(Labels, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		ls = append(ls, Label{Name: pairs[i], Value: pairs[i+1]})
	}
	sortLabels(ls)
	return SetOf(ls)
}

// Len returns the number of labels.
func (s LabelSet) Len() int { return int(uint32(s.meta)) }

// mask is the positions of the table's target labels (0: none left out).
func (s LabelSet) mask() uint32 { return uint32(s.meta >> 32) }

// own is the number of labels the set stores itself.
func (s LabelSet) own() int { return s.Len() - bits.OnesCount32(s.mask()) }

// refs returns the name and value references of label i: from the table's
// target labels or the set's own.
func (s LabelSet) refs(i int) (name, value uint32) {
	m := s.mask()
	below := bits.OnesCount32(m & (1<<uint(i) - 1))
	if m>>uint(i)&1 != 0 {
		return s.syms.tl[2*below], s.syms.tl[2*below+1]
	}
	sh, j := s.shapeOf()
	j = skipVarints(s.p, j, i-below)
	value, _ = varint(s.p, j)
	return sh.names[i-below], value
}

// At returns label i (0 <= i < Len()).
func (s LabelSet) At(i int) Label {
	if s.syms == nil {
		return unsafe.Slice((*Label)(s.p), s.Len())[i]
	}
	if uint(i) >= uint(s.Len()) {
		panic("scrape: LabelSet index out of range")
	}
	n, v := s.refs(i)
	return Label{Name: s.syms.str(n), Value: s.syms.str(v)}
}

// Name returns the name of label i.
func (s LabelSet) Name(i int) string {
	if s.syms == nil {
		return unsafe.Slice((*Label)(s.p), s.Len())[i].Name
	}
	if uint(i) >= uint(s.Len()) {
		panic("scrape: LabelSet index out of range")
	}
	n, _ := s.refs(i)
	return s.syms.str(n)
}

// All yields each label with its index, in order.
func (s LabelSet) All() iter.Seq2[int, Label] {
	return func(yield func(int, Label) bool) {
		r := s.reader()
		for i := range s.Len() {
			if !yield(i, r.next()) {
				return
			}
		}
	}
}

// Get returns the value of the named label, or "".
func (s LabelSet) Get(name string) string {
	v, _ := s.lookup(name)
	return v
}

// Has reports whether the named label is present.
func (s LabelSet) Has(name string) bool {
	_, ok := s.lookup(name)
	return ok
}

// lookup finds the named label in one pass, each label's references
// resolved once.
func (s LabelSet) lookup(name string) (string, bool) {
	if s.syms == nil {
		for _, l := range unsafe.Slice((*Label)(s.p), s.Len()) {
			if l.Name == name {
				return l.Value, true
			}
		}
		return "", false
	}
	v, m, p := s.syms, s.mask(), s.p
	var names []string
	j, k, o := 0, 0, 0
	if s.own() > 0 {
		var sh *labelShape
		sh, j = s.shapeOf()
		names = sh.strs
	}
	for range s.Len() {
		if m&1 != 0 {
			if v.str(v.tl[k]) == name {
				return v.str(v.tl[k+1]), true
			}
			k += 2
		} else {
			if names[o] == name {
				val, _ := varint(p, j)
				return v.str(val), true
			}
			o++
			for at(p, j) >= 0x80 { // skip the value: names come from the shape
				j++
			}
			j++
		}
		m >>= 1
	}
	return "", false
}

// AppendTo appends the labels to dst. It is the fast way to read every
// label: one call per set, then a loop over a plain slice.
func (s LabelSet) AppendTo(dst Labels) Labels {
	if s.syms == nil {
		return append(dst, unsafe.Slice((*Label)(s.p), s.Len())...)
	}
	m, v, p := s.mask(), s.syms, s.p
	n := len(dst)
	dst = slices.Grow(dst, s.Len())[:n+s.Len()]
	out := dst[n:]
	var names []string
	j, k, o := 0, 0, 0
	if s.own() > 0 {
		var sh *labelShape
		sh, j = s.shapeOf()
		names = sh.strs
	}
	for i := range out {
		if m&1 != 0 {
			out[i] = Label{Name: v.str(v.tl[k]), Value: v.str(v.tl[k+1])}
			k += 2
		} else {
			// varint, its one- and two-byte cases inlined by
			// hand (with its call it is over the inliner's
			// budget)
			var val uint32
			if b := at(p, j); b < 0x80 {
				val, j = uint32(b), j+1
			} else if c := at(p, j+1); c < 0x80 {
				val, j = uint32(b&0x7f)|uint32(c)<<7, j+2
			} else {
				val, j = varintLong(p, j)
			}
			out[i] = Label{Name: names[o], Value: v.str(val)}
			o++
		}
		m >>= 1
	}
	return dst
}

// AppendToProps is AppendTo that also reports the properties that every
// name (names) and every value (values) of the set has, so that an encoder
// can skip its per-string checks when they say a set is clean. Only the
// parser's compact sets know them; a plain set (and the empty set) reports
// none, and its strings must be checked.
func (s LabelSet) AppendToProps(dst Labels) (out Labels, names, values StrProps) {
	if s.syms == nil {
		return append(dst, unsafe.Slice((*Label)(s.p), s.Len())...), 0, 0
	}
	names, values = PropsAll, PropsAll
	m, v, p := s.mask(), s.syms, s.p
	n := len(dst)
	dst = slices.Grow(dst, s.Len())[:n+s.Len()]
	set := dst[n:]
	var own []string // the shape's names
	j, k, o := 0, 0, 0
	if s.own() > 0 {
		var sh *labelShape
		sh, j = s.shapeOf()
		own, names = sh.strs, sh.props
	}
	for i := range set {
		if m&1 != 0 {
			ns, np := v.strProps(v.tl[k])
			vs, vp := v.strProps(v.tl[k+1])
			names, values = names&np, values&vp
			set[i] = Label{Name: ns, Value: vs}
			k += 2
		} else {
			var val uint32
			// as in AppendTo
			if b := at(p, j); b < 0x80 {
				val, j = uint32(b), j+1
			} else if c := at(p, j+1); c < 0x80 {
				val, j = uint32(b&0x7f)|uint32(c)<<7, j+2
			} else {
				val, j = varintLong(p, j)
			}
			vs, vp := v.strProps(val)
			values &= vp
			set[i] = Label{Name: own[o], Value: vs}
			o++
		}
		m >>= 1
	}
	return dst, names, values
}

// Labels returns a new slice holding the labels.
func (s LabelSet) Labels() Labels {
	if s.Len() == 0 {
		return nil
	}
	return s.AppendTo(make(Labels, 0, s.Len()))
}

// Same reports whether s and o are the same stored set (so Equal without
// comparing a label).
//
// A compact set's storage belongs to one table, so sets of one table seen
// through two views of it (a SeriesSet keeps the newest) are the same.
func (s LabelSet) Same(o LabelSet) bool {
	return s.p == o.p && s.meta == o.meta && (s.syms == nil) == (o.syms == nil)
}

// Equal reports whether s and o hold the same labels.
func (s LabelSet) Equal(o LabelSet) bool {
	if s.Len() != o.Len() {
		return false
	}
	if s.Same(o) {
		return true
	}
	if s.syms != nil && o.syms != nil && s.syms.tab == o.syms.tab && s.meta == o.meta {
		// One table holds each string and each shape once and a
		// reference has one encoding: equal bytes, equal strings.
		own := s.own()
		return own == 0 || equalVarints(s.p, o.p, 1+own)
	}
	a, b := s.reader(), o.reader()
	for range s.Len() {
		if a.next() != b.next() {
			return false
		}
	}
	return true
}

// sameButBounds is sameGroupLabels for two compact sets of one table laid
// out alike (same count, target labels at the same positions), as the
// samples of one histogram or summary series are: label by label on the
// references, a string looked at only where values differ. ok is false
// when the sets are not such a pair or a name differs; the caller then
// compares strings.
func (s LabelSet) sameButBounds(o LabelSet) (same, ok bool) {
	if s.syms == nil || o.syms == nil || s.syms.tab != o.syms.tab || s.meta != o.meta {
		return false, false
	}
	if s.own() == 0 {
		return true, true
	}
	sa, i := varint(s.p, 0)
	sb, j := varint(o.p, 0)
	if sa != sb {
		return false, false // a name differs: one shape per names
	}
	for _, an := range s.syms.shapes[sa].names {
		var av, bv uint32
		av, i = varint(s.p, i)
		bv, j = varint(o.p, j)
		if av != bv && !isBoundName(s.syms.str(an)) {
			return false, true
		}
	}
	return true, true
}

// EqualLabels reports whether s holds exactly ls.
func (s LabelSet) EqualLabels(ls Labels) bool {
	if s.Len() != len(ls) {
		return false
	}
	r := s.reader()
	for i := range ls {
		if r.next() != ls[i] {
			return false
		}
	}
	return true
}

// String renders the labels as {a="1",b="2"} for logs and tests.
func (s LabelSet) String() string {
	var b strings.Builder
	b.WriteByte('{')
	r := s.reader()
	for i := range s.Len() {
		l := r.next()
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name)
		b.WriteString(`="`)
		b.WriteString(l.Value)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// SeriesHash is SeriesHash(name, s.Labels()) without the copy.
func (s LabelSet) SeriesHash(name string) uint64 {
	var sep = []byte{0xff}
	d := xxhash.New()
	_, _ = d.WriteString(name)
	_, _ = d.Write(sep)
	var buf [16]Label // most sets: read at once, on the stack
	for _, l := range s.AppendTo(buf[:0]) {
		_, _ = d.WriteString(l.Name)
		_, _ = d.Write(sep)
		_, _ = d.WriteString(l.Value)
		_, _ = d.Write(sep)
	}
	return d.Sum64()
}
