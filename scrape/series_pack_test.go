package scrape

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestSeriesSetPacked: a packed set reads back each sample's identity
// when its label sets lie in many arena chunks, in any order (the set
// numbers the chunks it uses, past the few it looks up linearly), and when
// its families come in runs that repeat (a, b, a); read in order, at
// random (the runs by binary search) and through Next.
func TestSeriesSetPacked(t *testing.T) {
	tl := Labels{{"instance", "h:1"}, {"job", "j"}}
	tab := newSymTable(tl)
	a := labelArena{hint: 64} // small chunks: a few sets each
	rng := rand.New(rand.NewPCG(1, 2))
	var in []Sample
	for i := range 3000 {
		ls := Labels{{"a", fmt.Sprint(i % 97)}, {"instance", "h:1"}, {"job", "j"}, {"z", fmt.Sprint(i)}}
		switch i % 50 {
		case 7:
			ls = tl // every label the table's: no chunk
		case 8:
			ls = nil
		}
		// Families in runs of 1 to 20 samples, names repeating.
		name := fmt.Sprintf("f%d", i/(1+i%20)%5)
		in = append(in, Sample{Name: name, Labels: a.encode(tab, ls), Kind: KindGauge, Hash: SeriesHash(name, ls)})
	}
	rng.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] }) // chunks in any order
	s := NewSeriesSet(in)
	if s.wide != nil || len(s.chunks) < 100 || len(s.runs) < 1000 {
		t.Fatalf("wide %v, %d chunks, %d runs: not the case under test", s.wide != nil, len(s.chunks), len(s.runs))
	}
	check := func(i int, got Sample) {
		t.Helper()
		want := in[i]
		if got.Name != want.Name || got.Kind != want.Kind || got.Hash != want.Hash || !got.Labels.Same(want.Labels) ||
			!got.Labels.Equal(want.Labels) || got.Labels.SeriesHash(got.Name) != want.Hash {
			t.Fatalf("sample %d: %s%s, want %s%s", i, got.Name, got.Labels, want.Name, want.Labels)
		}
	}
	for i := range in {
		check(i, s.Sample(i))
	}
	for _, i := range rng.Perm(len(in)) {
		check(i, s.Sample(i))
	}
	if !s.Describes(in) || s.Next(in) != s {
		t.Fatal("the set does not describe its own samples")
	}
	// A set built from the set's own samples packs the same way.
	again := make([]Sample, len(in))
	for i := range in {
		again[i] = s.Sample(i)
	}
	if n := NewSeriesSet(again); n.wide != nil || !n.Describes(in) {
		t.Fatal("a set of a set's samples differs")
	}
	// One family's Meta changes: the entries and runs are shared.
	m := &Meta{Help: "new"}
	for i := range in {
		if in[i].Name == "f3" {
			in[i].Meta = m
		}
	}
	n := s.Next(in)
	if n == s || &n.hashes[0] != &s.hashes[0] || &n.pos[0] != &s.pos[0] || !n.Describes(in) {
		t.Fatal("a new Meta did not share the entries")
	}
}

// TestArenaOffsets: a set stored after a chunk's first 64 KiB starts a new
// chunk, so that its header (and a SeriesSet entry) can hold its offset.
func TestArenaOffsets(t *testing.T) {
	tab := newSymTable(nil)
	huge := make(Labels, 30000) // value refs of 3 bytes: over 64 KiB of one chunk
	for i := range huge {
		huge[i] = Label{fmt.Sprintf("n%05d", i), fmt.Sprintf("v%05d", i)}
	}
	var a labelArena
	big := a.encode(tab, huge)
	small := Labels{{"a", "1"}}
	after := a.encode(tab, small)
	c1, _ := arenaChunk(big.p)
	c2, off := arenaChunk(after.p)
	if c1 == c2 || off != 0 {
		t.Fatalf("set after %d bytes: same chunk %v, offset %d", len(a.chunk), c1 == c2, off)
	}
	s := NewSeriesSet([]Sample{{Name: "x", Labels: after}, {Name: "y", Labels: a.encode(tab, small)}})
	if s.wide != nil || !s.labels(0).Equal(SetOf(small)) || !s.labels(1).Equal(SetOf(small)) {
		t.Fatal("small sets not packed")
	}
}

// TestSeriesSetChunkLimit: an entry numbers up to 65,535 chunks (the
// 65,536th index marks sets without an encoding); a set whose labels span
// more keeps them whole.
func TestSeriesSetChunkLimit(t *testing.T) {
	tab := newSymTable(nil)
	a := labelArena{hint: 1} // a chunk per set
	in := make([]Sample, maxSetChunks+1)
	for i := range in {
		in[i] = Sample{Name: "a", Labels: a.encode(tab, Labels{{"x", strconv.Itoa(i)}})} // distinct: a wrong chunk shows
	}
	for _, n := range []int{maxSetChunks, maxSetChunks + 1} {
		s := NewSeriesSet(in[:n])
		if packed := s.wide == nil; packed != (n <= maxSetChunks) {
			t.Fatalf("%d chunks: packed %v", n, packed)
		}
		if !s.labels(n-1).Equal(in[n-1].Labels) || !s.labels(0).Equal(in[0].Labels) || !s.Describes(in[:n]) {
			t.Fatalf("%d chunks: labels differ", n)
		}
	}
}
