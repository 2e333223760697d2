package scrape

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
)

// TestLabelShapes: sets with the same names share a shape (their names are
// held once), past the 128 shapes whose number takes one byte; an
// encoding holds the shape's number and the values only; every reader,
// Equal, sameButBounds and a SeriesSet read such sets right.
func TestLabelShapes(t *testing.T) {
	tl := Labels{{"instance", "h:1"}, {"job", "j"}}
	tab := newSymTable(tl)
	var a labelArena
	a.hint = 1 << 20
	var sets []LabelSet
	var want []Labels
	for i := range 300 {
		ls := Labels{{"a", "1"}, {fmt.Sprintf("n%03d", i), "2"}, {"z", fmt.Sprint(i % 7)}}
		if i%3 == 0 {
			ls = append(ls, tl...)
		}
		sortLabels(ls)
		n := len(a.chunk)
		s := a.encode(tab, ls)
		if i > 0 && len(a.chunk) > n { // the same chunk: the encoding's size shows
			own := len(ls) - len(tl)*btoi(i%3 == 0)
			values := 0
			for _, l := range ls {
				if l.Name != "instance" && l.Name != "job" || i%3 != 0 {
					values += varintLen(tab.ref(l.Value))
				}
			}
			if got, w := len(a.chunk)-n, arenaHeader+varintLen(uint32(i))+values; got != w || own != 3 {
				t.Fatalf("set %d takes %d bytes, want %d (%d own labels)", i, got, w, own)
			}
		}
		checkSetReads(t, s, ls)
		sets, want = append(sets, s), append(want, ls)
	}
	if got := len(tab.view.shapes); got != 300 {
		t.Fatalf("%d shapes, want 300", got)
	}
	// The same names again: the shape is found, not added.
	again := a.encode(tab, Labels{{"a", "9"}, {"n005", "8"}, {"z", "7"}})
	if got := len(tab.view.shapes); got != 300 {
		t.Fatalf("%d shapes after a known one, want 300", got)
	}
	if id, _ := again.shapeOf(); id != &tab.view.shapes[5] {
		t.Fatal("a set with set 5's names has another shape")
	}
	for i, s := range sets {
		twin := (&labelArena{}).encode(tab, want[i])
		if !s.Equal(twin) || !twin.Equal(s) {
			t.Fatalf("set %d differs from its twin", i)
		}
		if o := sets[(i+3)%len(sets)]; s.Equal(o) {
			t.Fatalf("sets %d and %d of other names compare equal", i, (i+3)%len(sets))
		}
		if _, ok := s.sameButBounds(sets[(i+3)%len(sets)]); ok {
			t.Fatalf("sets %d and %d of other names compared by reference", i, (i+3)%len(sets))
		}
	}
	// A SeriesSet finds each set's Len and mask from its shape.
	in := make([]Sample, len(sets))
	for i, s := range sets {
		in[i] = Sample{Name: "m", Labels: s, Hash: uint64(i)}
	}
	ss := NewSeriesSet(in)
	if ss.wide != nil {
		t.Fatal("not packed")
	}
	for i := range in {
		if got := ss.labels(i); !got.Same(sets[i]) || !got.Equal(sets[i]) {
			t.Fatalf("entry %d: %s, want %s", i, got, sets[i])
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestShapeBounds: sameButBounds compares sets of one shape by reference,
// values that differ only at a bound (le) making them the same series.
func TestShapeBounds(t *testing.T) {
	tab := newSymTable(nil)
	var a labelArena
	enc := func(le, x string) LabelSet { return a.encode(tab, Labels{{"le", le}, {"x", x}}) }
	for _, tc := range []struct {
		a, b     LabelSet
		same, ok bool
	}{
		{enc("1", "a"), enc("2", "a"), true, true},
		{enc("1", "a"), enc("1", "b"), false, true},
		{enc("1", "a"), a.encode(tab, Labels{{"le", "1"}, {"y", "a"}}), false, false},
	} {
		if same, ok := tc.a.sameButBounds(tc.b); same != tc.same || ok != tc.ok {
			t.Errorf("%s vs %s: %v, %v; want %v, %v", tc.a, tc.b, same, ok, tc.same, tc.ok)
		}
	}
}

// TestShapesCountLive: a table's size counts its shapes, and countLive
// the ones sets use, so that names that churn (each new combination a
// shape) make a table wasteful as symbols that churn do.
func TestShapesCountLive(t *testing.T) {
	tab := newSymTable(nil)
	var a labelArena
	var sets []LabelSet
	for i := range 10 {
		sets = append(sets, a.encode(tab, Labels{{"a", "1"}, {fmt.Sprint("b", i), "1"}}))
	}
	if got, want := tab.size(), int(tab.n)+10; got != want {
		t.Fatalf("size %d, want %d", got, want)
	}
	// Two sets of one shape: "a", "b3", "1" and the shape.
	live := tab.countLive(slices.Values([]LabelSet{sets[3], sets[3]}))
	if live != 4 {
		t.Fatalf("live %d, want 4", live)
	}
}

// TestSeriesSetBytesPerSample: a packed SeriesSet keeps 12 bytes per
// sample (a hash and a position; 16 with the Len and mask an entry held
// before shapes) plus its runs and references.
func TestSeriesSetBytesPerSample(t *testing.T) {
	tab := newSymTable(nil)
	a := labelArena{hint: 1 << 20}
	const n = 50000
	in := make([]Sample, n)
	for i := range in {
		ls := Labels{{"a", fmt.Sprint(i % 100)}, {"b", "x"}}
		in[i] = Sample{Name: "m", Labels: a.encode(tab, ls), Hash: uint64(i)}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := NewSeriesSet(in)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	runtime.KeepAlive(in)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.2f bytes per sample", per)
	if s.wide != nil || per > 12.5 {
		t.Fatalf("a packed set holds %.2f bytes per sample (wide %v), want at most 12.5", per, s.wide != nil)
	}
}
