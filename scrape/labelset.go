package scrape

import (
	"iter"
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
//   - compact: what the parser makes of a scraped series, two 4-byte
//     symbol references per label into its target's symbol table
//     (symtab.go), 8 bytes per label instead of Label's 32, the strings
//     themselves held once per target.
//
// Read it with Len/At (the fast loop), All, Get or AppendTo; compare with
// Equal. The zero LabelSet is empty.
type LabelSet struct {
	syms *symView       // compact form: the symbols the refs index; nil when plain
	p    unsafe.Pointer // plain: *Label, the first of n; compact: *uint32, the first of 2n refs
	n    int
}

// SetOf returns ls as a LabelSet without copying it: ls must be sorted with
// unique names and must not be modified afterwards.
func SetOf(ls Labels) LabelSet {
	if len(ls) == 0 {
		return LabelSet{}
	}
	return LabelSet{p: unsafe.Pointer(unsafe.SliceData(ls)), n: len(ls)}
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
func (s LabelSet) Len() int { return s.n }

// At returns label i (0 <= i < Len()).
func (s LabelSet) At(i int) Label {
	if s.syms == nil {
		return unsafe.Slice((*Label)(s.p), s.n)[i]
	}
	refs := unsafe.Slice((*uint32)(s.p), 2*s.n)
	return Label{Name: s.syms.str(refs[2*i]), Value: s.syms.str(refs[2*i+1])}
}

// Name returns the name of label i.
func (s LabelSet) Name(i int) string {
	if s.syms == nil {
		return unsafe.Slice((*Label)(s.p), s.n)[i].Name
	}
	return s.syms.str(unsafe.Slice((*uint32)(s.p), 2*s.n)[2*i])
}

// All yields each label with its index, in order.
func (s LabelSet) All() iter.Seq2[int, Label] {
	return func(yield func(int, Label) bool) {
		for i := range s.n {
			if !yield(i, s.At(i)) {
				return
			}
		}
	}
}

// Get returns the value of the named label, or "".
func (s LabelSet) Get(name string) string {
	for i := range s.n {
		if s.Name(i) == name {
			return s.At(i).Value
		}
	}
	return ""
}

// Has reports whether the named label is present.
func (s LabelSet) Has(name string) bool {
	for i := range s.n {
		if s.Name(i) == name {
			return true
		}
	}
	return false
}

// AppendTo appends the labels to dst.
func (s LabelSet) AppendTo(dst Labels) Labels {
	if s.syms == nil {
		return append(dst, unsafe.Slice((*Label)(s.p), s.n)...)
	}
	for i := range s.n {
		dst = append(dst, s.At(i))
	}
	return dst
}

// Labels returns a new slice holding the labels.
func (s LabelSet) Labels() Labels {
	if s.n == 0 {
		return nil
	}
	return s.AppendTo(make(Labels, 0, s.n))
}

// Same reports whether s and o are the same stored set (so Equal without
// comparing a label).
func (s LabelSet) Same(o LabelSet) bool { return s.p == o.p && s.n == o.n && s.syms == o.syms }

// Equal reports whether s and o hold the same labels.
func (s LabelSet) Equal(o LabelSet) bool {
	if s.n != o.n {
		return false
	}
	if s.Same(o) {
		return true
	}
	if s.syms != nil && o.syms != nil && s.syms.tab == o.syms.tab {
		// One table holds each string once: equal refs, equal strings.
		a, b := unsafe.Slice((*uint32)(s.p), 2*s.n), unsafe.Slice((*uint32)(o.p), 2*o.n)
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	for i := range s.n {
		if s.At(i) != o.At(i) {
			return false
		}
	}
	return true
}

// EqualLabels reports whether s holds exactly ls.
func (s LabelSet) EqualLabels(ls Labels) bool {
	if s.n != len(ls) {
		return false
	}
	for i := range ls {
		if s.At(i) != ls[i] {
			return false
		}
	}
	return true
}

// String renders the labels as {a="1",b="2"} for logs and tests.
func (s LabelSet) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range s.n {
		l := s.At(i)
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
	for i := range s.n {
		l := s.At(i)
		_, _ = d.WriteString(l.Name)
		_, _ = d.Write(sep)
		_, _ = d.WriteString(l.Value)
		_, _ = d.Write(sep)
	}
	return d.Sum64()
}
