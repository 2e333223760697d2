package scrape

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// lcParseBoth parses body with a warm parser (which may answer from its line
// cache) and with a fresh one, and requires identical results: same samples
// or the same error.
func lcParseBoth(t *testing.T, warm *Parser, f Format, body []byte, opt ParseOptions) []Sample {
	t.Helper()
	got, gotErr := warm.Parse(f, body, opt)
	want, wantErr := NewParser().Parse(f, body, opt)
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("warm parser error %v, fresh parser error %v", gotErr, wantErr)
	}
	if g, w := ptRenderAll(got), ptRenderAll(want); !slices.Equal(g, w) {
		t.Fatalf("warm parser differs from a fresh one:\nwarm:  %q\nfresh: %q", g, w)
	}
	if err := ptInvariants(got); err != nil {
		t.Fatal(err)
	}
	return got
}

// Every input of the golden and fuzz corpora, parsed repeatedly by one
// parser, must give exactly what a fresh parser gives.
func TestLineCacheRepeatedParseMatchesFresh(t *testing.T) {
	type input struct {
		name string
		f    Format
		body []byte
	}
	var inputs []input
	for _, c := range []struct {
		file string
		f    Format
	}{{"text_basic.prom", FormatText}, {"openmetrics_full.om", FormatOpenMetrics}} {
		b, err := os.ReadFile(filepath.Join("testdata", "parse", c.file))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, input{c.file, c.f, b})
	}
	corpus, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzParse", "*"))
	for _, path := range corpus {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// go test fuzz v1: []byte("...") then bool(om)
		lines := strings.Split(string(raw), "\n")
		if len(lines) < 3 {
			continue
		}
		body, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		f := FormatText
		if strings.Contains(lines[2], "true") {
			f = FormatOpenMetrics
		}
		inputs = append(inputs, input{filepath.Base(path), f, []byte(body)})
	}
	for _, f := range []Format{FormatText, FormatOpenMetrics} {
		inputs = append(inputs, input{"generated-" + f.String(), f, ptEncode(t, ptGenFamilies(500, 7), f)})
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			p := NewParser()
			for i := range 3 {
				opt := ParseOptions{NowMs: ptNow + int64(i)*1000, TargetLabels: Labels{{Name: "instance", Value: "x:1"}, {Name: "job", Value: "lc"}}}
				lcParseBoth(t, p, in.f, in.body, opt)
			}
		})
	}
}

func TestLineCache(t *testing.T) {
	const lines = "m_bucket{a=\"1\",le=\"1\"} 1\nm_bucket{a=\"1\",le=\"+Inf\"} 2\nm_sum{a=\"1\"} 3\nm_count{a=\"1\"} 2\n"
	tl := Labels{{Name: "a", Value: "target"}}
	steps := []struct {
		name string
		body string
		opt  ParseOptions
	}{
		// The same series text first as untyped, then as a histogram: the
		// cached untyped result (le="1" kept verbatim) must not be reused.
		{"untyped", lines, ParseOptions{NowMs: ptNow}},
		{"histogram", "# TYPE m histogram\n" + lines, ParseOptions{NowMs: ptNow}},
		{"untyped again", lines, ParseOptions{NowMs: ptNow}},
		// Target labels and limits change what a series text yields.
		{"target labels", lines, ParseOptions{NowMs: ptNow, TargetLabels: tl}},
		{"no target labels", lines, ParseOptions{NowMs: ptNow}},
		{"label limit", lines, ParseOptions{NowMs: ptNow, Limits: Limits{MaxLabels: 2}}},
		{"no limit", lines, ParseOptions{NowMs: ptNow}},
		// A broken body after good ones fails as it does on a fresh parser.
		{"duplicate label", "m{a=\"1\",a=\"2\"} 1\n", ParseOptions{NowMs: ptNow}},
		{"unterminated", "m{a=\"1} 1\n", ParseOptions{NowMs: ptNow}},
		{"quoted name", "{\"m.x\",a=\"1\"} 1\n{\"m.x\",a=\"1\"} 1\n", ParseOptions{NowMs: ptNow}},
		{"blank before labels", "m {a=\"1\"} 1\nm{a=\"1\"} 2\n", ParseOptions{NowMs: ptNow}},
		{"escaped brace in value", "m{a=\"}\\\"{\"} 1\n", ParseOptions{NowMs: ptNow}},
		// Order changes between scrapes: the positional guess misses and
		// the map answers.
		{"order", "m{a=\"1\"} 1\nm{a=\"2\"} 2\nm{a=\"3\"} 3\n", ParseOptions{NowMs: ptNow}},
		{"reordered", "m{a=\"3\"} 1\nm{a=\"1\"} 2\nm{a=\"2\"} 3\n", ParseOptions{NowMs: ptNow}},
		{"one removed", "m{a=\"1\"} 2\nm{a=\"2\"} 3\n", ParseOptions{NowMs: ptNow}},
	}
	p := NewParser()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			lcParseBoth(t, p, FormatText, []byte(st.body), st.opt)
		})
	}
}

// A steady exposition is served from the cache: the second parse shares the
// first one's label slices instead of building new ones.
func TestLineCacheSharesLabels(t *testing.T) {
	body := ptEncode(t, ptGenFamilies(200, 3), FormatText)
	p := NewParser()
	opt := ParseOptions{NowMs: ptNow}
	first := lcParseBoth(t, p, FormatText, body, opt)
	second := lcParseBoth(t, p, FormatText, body, opt)
	shared, labelled := 0, 0
	for i := range first {
		if first[i].Labels.Len() > 0 {
			labelled++
			if first[i].Labels.Same(second[i].Labels) {
				shared++
			}
		}
	}
	if labelled == 0 || shared != labelled {
		t.Fatalf("second parse reused %d of %d label slices, want all", shared, labelled)
	}
	if len(p.lines.keys) != len(second) {
		t.Fatalf("line cache holds %d keys, want %d", len(p.lines.keys), len(second))
	}
}

// Series that disappear are forgotten with the scrape that last had them:
// the cache holds the last successful scrape only.
func TestLineCacheForgetsGoneSeries(t *testing.T) {
	p := NewParser()
	var b strings.Builder
	for i := range 5000 {
		b.WriteString("gone{i=\"" + strconv.Itoa(i) + "\"} 1\n")
	}
	lcParseBoth(t, p, FormatText, []byte(b.String()), ParseOptions{NowMs: ptNow})
	lcParseBoth(t, p, FormatText, []byte("kept 1\n"), ParseOptions{NowMs: ptNow})
	if n := len(p.lines.keys); n != 1 || p.lines.prev.Len() != 1 {
		t.Fatalf("cache holds %d keys and %d samples after the series went away, want 1", n, p.lines.prev.Len())
	}
	// A failed parse keeps what the cache had.
	if _, err := p.Parse(FormatText, []byte("kept 1\nbad{ 2\n"), ParseOptions{NowMs: ptNow}); err == nil {
		t.Fatal("broken body parsed")
	}
	if len(p.lines.keys) != 1 || p.lines.prev.Sample(0).Name != "kept" {
		t.Fatalf("a failed parse changed the cache: %d keys", len(p.lines.keys))
	}
}

// Label slices kept by the line cache pin their arena chunk, so a scrape
// that adds one series to a steady exposition must not allocate a big one.
func TestLineCacheNewSeriesPinsLittle(t *testing.T) {
	body := ptEncode(t, ptGenFamilies(100, 5), FormatText)
	p := NewParser()
	opt := ParseOptions{NowMs: ptNow}
	lcParseBoth(t, p, FormatText, body, opt)
	lcParseBoth(t, p, FormatText, body, opt)
	alloc := func(b []byte) uint64 {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		if _, err := p.Parse(FormatText, b, opt); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		return m1.TotalAlloc - m0.TotalAlloc
	}
	base := alloc(body)
	with := alloc(append(slices.Clip(body), "brand_new{a=\"1\",b=\"2\"} 1\n"...))
	// The old arena chunk was 4096 labels (128 KiB); the new series needs
	// 2 labels, plus the cache entry and the samples slice's extra room.
	if with > base+64<<10 {
		t.Fatalf("one new series allocated %d bytes more than a steady scrape", with-base)
	}
}

// The index finds every position, including positions whose probes start
// at the same slot, and is rebuilt to the right size.
func TestLineIndex(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  func(i int) lineKey
	}{
		{"spread", func(i int) lineKey { return lineKey(uint64(i+1) * 0x9e3779b97f4a7c15) }},
		// Probes start at key>>32: these share seven starts.
		{"colliding", func(i int) lineKey { return lineKey(uint64(i%7)<<40 | uint64(i)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var x lineIndex
			var keys []lineKey
			const n = 3000
			for i := range n {
				keys = append(keys, tc.key(i))
			}
			find := func(keys []lineKey, k lineKey) int32 {
				return x.find(uint64(k), func(i int32) bool { return keys[i] == k })
			}
			x.rebuild(len(keys), func(i int) uint64 { return uint64(keys[i]) })
			if n*4 > len(x.tab)*3 {
				t.Fatalf("%d keys in a table of %d", n, len(x.tab))
			}
			for i := range n {
				if got := find(keys, keys[i]); got != int32(i) {
					t.Fatalf("find(%d) = %d", i, got)
				}
			}
			if got := find(keys, tc.key(n)); got != -1 {
				t.Fatalf("absent key found at %d", got)
			}
			// An absent key whose probe starts where present ones do.
			if got := find(keys, keys[2]^1<<20); got != -1 {
				t.Fatalf("key sharing a probe start found at %d", got)
			}
			half := keys[n/2:]
			x.rebuild(len(half), func(i int) uint64 { return uint64(half[i]) })
			for i := range half {
				if got := find(half, half[i]); got != int32(i) {
					t.Fatalf("after rebuild find(%d) = %d", i, got)
				}
			}
		})
	}
}

// Reordered, added and removed lines are found through the index and
// give what a fresh parser gives; a steady order never builds it, and a
// steady scrape after a reordered one drops it.
func TestLineCacheOrder(t *testing.T) {
	var lines []string
	for i := range 50 {
		lines = append(lines, "m{i=\""+strconv.Itoa(i)+"\"} 1\n")
	}
	body := func(ls []string) []byte { return []byte(strings.Join(ls, "")) }
	p := NewParser()
	opt := ParseOptions{NowMs: ptNow}
	lcParseBoth(t, p, FormatText, body(lines), opt)
	steady := lcParseBoth(t, p, FormatText, body(lines), opt)
	if p.lines.kidx.tab != nil || p.lines.mark != nil {
		t.Fatal("a steady exposition built the index")
	}
	rev := slices.Clone(lines)
	slices.Reverse(rev)
	got := lcParseBoth(t, p, FormatText, body(rev), opt)
	if !got[0].Labels.Same(steady[49].Labels) || !got[49].Labels.Same(steady[0].Labels) {
		t.Fatal("reordered lines were parsed again instead of found in the cache")
	}
	if p.lines.kidx.tab == nil {
		t.Fatal("a reordered exposition did not build the index")
	}
	lcParseBoth(t, p, FormatText, body(rev), opt)
	if p.lines.kidx.tab != nil || p.lines.mark != nil {
		t.Fatal("a steady scrape kept the index")
	}
	mixed := append(slices.Clone(rev[10:]), "m{i=\"new\"} 2\n", rev[20], "m{i=\"new\"} 3\n")
	lcParseBoth(t, p, FormatText, body(mixed), opt)
	lcParseBoth(t, p, FormatText, body(mixed), opt)
	if d := p.Dropped(); d.Duplicate != 2 {
		t.Fatalf("Dropped = %+v, want 2 duplicates", d)
	}
}

// The cache is per-series state that lives as long as its target: for a
// steady exposition, one 8-byte key per series by position, within 12 bytes
// (two 16-byte keys per series took 32; a table of its own copies of names,
// labels, hashes and duplicate-detection state about 140). A scrape whose
// order changed also keeps the indexes and the marks, within 40.
func TestLineCacheBytesPerSeries(t *testing.T) {
	body := ptEncode(t, ptGenFamilies(6000, 3), FormatText)
	lines := strings.SplitAfter(string(body), "\n")
	slices.Reverse(lines)
	reversed := []byte(strings.Join(lines, ""))
	p := NewParser()
	opt := ParseOptions{NowMs: ptNow}
	var n int
	for i, b := range [][]byte{body, reversed, body, body} {
		s, err := p.Parse(FormatText, b, opt)
		if err != nil {
			t.Fatal(err)
		}
		n = len(s)
		per := lcBytes(&p.lines) / n
		c := &p.lines
		t.Logf("parse %d: %d bytes per series (%d series; keys %d+%d, key index %d, hash index %d, marks %d)",
			i+1, per, n, cap(c.keys), cap(c.cur), len(c.kidx.tab), len(c.hidx.tab), cap(c.mark))
		switch {
		case i == 1 && per > 40:
			t.Fatalf("after a reordered scrape the line cache holds %d bytes per series", per)
		case i == 3 && per > 12:
			t.Fatalf("a steady line cache holds %d bytes per series", per)
		}
	}
}

// lcBytes is what the line cache itself holds (not the samples it reads,
// which their caller keeps anyway).
func lcBytes(c *lineCache) int {
	return (cap(c.keys)+cap(c.cur))*int(unsafe.Sizeof(lineKey(0))) + 4*(len(c.kidx.tab)+len(c.hidx.tab)+cap(c.mark))
}
