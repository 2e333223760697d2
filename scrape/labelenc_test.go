package scrape

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"testing"
	"unsafe"
)

func TestVarintRefs(t *testing.T) {
	for _, tc := range []struct {
		ref  uint32
		size int
	}{
		{0, 1}, {1, 1}, {127, 1},
		{128, 2}, {16383, 2},
		{16384, 3}, {1<<21 - 1, 3},
		{1 << 21, 4}, {1<<28 - 1, 4},
		{1 << 28, 5}, {math.MaxUint32, 5},
	} {
		t.Run(fmt.Sprint(tc.ref), func(t *testing.T) {
			b := appendVarint([]byte{0xff}, tc.ref) // not at the start of its storage
			if len(b)-1 != tc.size || varintLen(tc.ref) != tc.size {
				t.Fatalf("%d bytes, varintLen %d, want %d", len(b)-1, varintLen(tc.ref), tc.size)
			}
			// Followed by another reference: the reader stops where it ends.
			b = appendVarint(b, 5)
			end := len(b)
			b = append(b, 0xff, 0xff, 0xff) // bytes after it must not count
			p := unsafe.Pointer(&b[0])
			r, i := varint(p, 1)
			if r != tc.ref || i != 1+tc.size {
				t.Fatalf("read %d ending at %d, want %d ending at %d", r, i, tc.ref, 1+tc.size)
			}
			if r, i := varint(p, i); r != 5 || i != end {
				t.Fatalf("next read %d ending at %d", r, i)
			}
			if got := skipVarints(p, 1, 2); got != end {
				t.Fatalf("skipVarints ends at %d, want %d", got, end)
			}
			o := appendVarint(appendVarint([]byte{0}, tc.ref), 5)
			if !equalVarints(unsafe.Pointer(&b[1]), unsafe.Pointer(&o[1]), 2) {
				t.Fatal("equal encodings compare unequal")
			}
			o = appendVarint(appendVarint([]byte{0}, tc.ref^1), 5)
			if equalVarints(unsafe.Pointer(&b[1]), unsafe.Pointer(&o[1]), 2) {
				t.Fatal("different refs compare equal")
			}
		})
	}
}

// symbolAt makes s table t's symbol number r (r >= t.n), skipping the
// numbers between (pages of unused numbers stay nil), so that a test
// reaches multi-byte references without adding millions of symbols.
func symbolAt(t *symTable, r uint32, s string) {
	for uint32(len(t.view.pages)) < r>>symPageBits {
		t.view.pages = append(t.view.pages, nil)
	}
	if r&(symPageSize-1) != 0 && uint32(len(t.view.pages)) == r>>symPageBits {
		t.view.pages = append(t.view.pages, new(symPage))
	}
	t.n = r
	if got := t.ref(s); got != r {
		panic(fmt.Sprintf("symbol %q numbered %d, want %d", s, got, r))
	}
}

// TestLabelSetEncodings stores sets whose references cross each varint
// length, with target labels at various positions, 32 labels (the most a
// mask covers) and more: every reader gives the plain form's answers.
func TestLabelSetEncodings(t *testing.T) {
	tl := Labels{{"instance", "h:1"}, {"job", "j"}}
	tab := newSymTable(tl)
	// Names and values numbered at each boundary.
	refs := []uint32{127, 128, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<28 - 1, 1 << 28}
	var big Labels
	for i, r := range refs {
		name, value := fmt.Sprintf("n%d", i), fmt.Sprintf("v%d", r)
		symbolAt(tab, r, value)
		big = append(big, Label{name, value})
	}
	many := func(n int, withTL bool) Labels {
		var ls Labels
		for i := range n {
			ls = append(ls, Label{fmt.Sprintf("k%02d", i), fmt.Sprint(i % 3)})
		}
		if withTL {
			ls = append(ls[:n-2], tl...) // "instance", "job" sort after "k.."
		}
		sortLabels(ls)
		return ls
	}
	low := Labels{{"a", "1"}}
	for _, tc := range []struct {
		name string
		ls   Labels
		mask uint32
	}{
		{"boundary refs", big, 0},
		{"boundary refs, target labels", append(slices.Clone(big), tl...), 0b11},
		{"target labels first", append(Labels{{"aa", "v16384"}, {"instance", "h:1"}, {"job", "j"}}, big[3:]...), 0b110},
		{"only target labels", tl, 0b11},
		{"one-byte refs", append(slices.Clone(low), tl...), 0b110},
		{"32 labels", many(32, false), 0},
		{"32 labels, target labels", many(32, true), 0b11},
		{"33 labels, target labels stored", many(33, true), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sortLabels(tc.ls)
			var a labelArena
			s := a.encode(tab, tc.ls)
			if s.mask() != tc.mask {
				t.Fatalf("mask %b, want %b", s.mask(), tc.mask)
			}
			checkSetReads(t, s, tc.ls)
			twin := (&labelArena{}).encode(tab, tc.ls)
			if !twin.Equal(s) || !s.Equal(SetOf(tc.ls)) || !SetOf(tc.ls).Equal(s) {
				t.Fatal("Equal wrong for a twin in other storage")
			}
			if same, ok := s.sameButBounds(twin); !same || !ok {
				t.Fatalf("sameButBounds = %v, %v", same, ok)
			}
			for i := range tc.ls {
				// Another value at label i (one the table holds,
				// so the encoding may keep its length).
				other := slices.Clone(tc.ls)
				other[i].Value = "v1"
				if o := (&labelArena{}).encode(tab, other); o.Equal(s) || s.Equal(o) {
					t.Fatalf("sets differing at label %d compare equal", i)
				}
			}
			var live []uint32
			for r := range s.ownRefs {
				live = append(live, r)
			}
			if want := 2 * (len(tc.ls) - bits.OnesCount32(tc.mask)); len(live) != want {
				t.Fatalf("%d own refs, want %d", len(live), want)
			}
		})
	}
}

// checkSetReads checks every reader of s against want.
func checkSetReads(t *testing.T, s LabelSet, want Labels) {
	t.Helper()
	if s.Len() != len(want) {
		t.Fatalf("Len %d, want %d", s.Len(), len(want))
	}
	if got := s.AppendTo(Labels{{"x", "y"}}); !slices.Equal(got[1:], want) || got[0] != (Label{"x", "y"}) {
		t.Fatalf("AppendTo = %v, want %v", got, want)
	}
	for i, l := range want {
		if s.At(i) != l || s.Name(i) != l.Name {
			t.Fatalf("At(%d) = %v, want %v", i, s.At(i), l)
		}
		if v := s.Get(l.Name); v != l.Value || !s.Has(l.Name) {
			t.Fatalf("Get(%q) = %q, want %q", l.Name, v, l.Value)
		}
	}
	if s.Has("zz-absent") {
		t.Fatal("Has an absent label")
	}
	var all Labels
	for i, l := range s.All() {
		if i != len(all) {
			t.Fatalf("All yields index %d at %d", i, len(all))
		}
		all = append(all, l)
	}
	if !slices.Equal(all, want) {
		t.Fatalf("All = %v", all)
	}
	if s.String() != want.String() || s.SeriesHash("m") != SeriesHash("m", want) || !s.EqualLabels(want) {
		t.Fatalf("String/SeriesHash/EqualLabels differ from the plain form's: %s", s)
	}
}

// TestSymTableChunks adds strings across chunk boundaries, an empty one and
// long ones (a chunk of their own): every symbol reads back through the
// view it was added under and through every later one, the index finds
// it, and strings handed out do not alias the caller's bytes.
func TestSymTableChunks(t *testing.T) {
	tab := newSymTable(nil)
	type added struct {
		r    uint32
		s    string
		view *symView
	}
	var all []added
	lengths := []int{0, 1, symSharedMax, symSharedMax + 1, 70000, 3}
	for i := range 3000 { // about 40 KB of short strings: several chunks
		lengths = append(lengths, 5+i%29)
	}
	for i, n := range lengths {
		b := make([]byte, n)
		for j := range b {
			b[j] = 'a' + byte((i+j)%26)
		}
		want := string(b)
		s, ok := tab.bytes(b)
		if !ok || s != want {
			t.Fatalf("bytes(%d bytes) = %q, %v", n, s, ok)
		}
		clear(b) // the table's copy must not be the caller's
		r := tab.ref(want)
		all = append(all, added{r, want, tab.view})
	}
	if len(tab.view.chunks) < 5 {
		t.Fatalf("%d chunks: the test did not cross chunk boundaries", len(tab.view.chunks))
	}
	for _, a := range all {
		if got := a.view.str(a.r); got != a.s {
			t.Fatalf("symbol %d through its own view: %d bytes, want %d", a.r, len(got), len(a.s))
		}
		if got := tab.view.str(a.r); got != a.s {
			t.Fatalf("symbol %d through the newest view differs", a.r)
		}
	}
	tab.idx = nil // dropped, then rebuilt from the chunks
	for _, a := range all {
		if r := tab.ref(a.s); r != a.r {
			t.Fatalf("reindexed %d bytes as %d, want %d", len(a.s), r, a.r)
		}
	}
}
