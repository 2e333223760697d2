package scrape

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
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
		if len(first[i].Labels) > 0 {
			labelled++
			if &first[i].Labels[0] == &second[i].Labels[0] {
				shared++
			}
		}
	}
	if labelled == 0 || shared != labelled {
		t.Fatalf("second parse reused %d of %d label slices, want all", shared, labelled)
	}
	if len(p.lines.order) != len(second) {
		t.Fatalf("line order holds %d positions, want %d", len(p.lines.order), len(second))
	}
}

// Series that disappear are pruned once they outnumber the live ones.
func TestLineCachePrunes(t *testing.T) {
	p := NewParser()
	var b strings.Builder
	for i := range 3 * lineMinKeep {
		b.WriteString("gone{i=\"" + strconv.Itoa(i) + "\"} 1\n")
	}
	lcParseBoth(t, p, FormatText, []byte(b.String()), ParseOptions{NowMs: ptNow})
	lcParseBoth(t, p, FormatText, []byte("kept 1\n"), ParseOptions{NowMs: ptNow})
	if n := len(p.lines.ents); n != 1 || len(p.lines.idx) != 1 {
		t.Fatalf("cache holds %d entries after the series went away, want 1", n)
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
