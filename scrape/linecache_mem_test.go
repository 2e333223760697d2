package scrape

import (
	"bytes"
	"runtime"
	"slices"
	"testing"
)

// TestParserBytesPerSeries measures what a Parser keeps between scrapes
// once its caller has dropped the samples it returned (as the forwarder
// does once every sink has encoded them), for a steady exposition: the
// line cache, the series' identities and label sets, the intern table and
// family metadata. It is measured on the live heap, so it holds whatever
// the layout. With the last scrape's []Sample batch kept alive by the line
// cache (80 bytes per sample plus its spare capacity) it was 346 bytes per
// series (342 with a rewriter); with a SeriesSet (40 bytes per series)
// instead, 301 (297), most of it the label sets as []Label (two target
// labels and up to three exposed ones, 32 bytes each). With compact label
// sets (8 bytes per label in a per-target symbol table, the target labels
// held once by the table) it is 107; 144 with this rewriter, which drops a
// target label so that its sets hold every label, and whose line records
// add 24 bytes. With 24-byte set entries instead of 40: 91 and 128. With
// labels as varint references (2 to 3 bytes a label instead of 8), symbol
// bytes packed in chunks and line keys without append slack: 61 and 87.
// With 16-byte set entries without a pointer (a 2-byte header before each
// set's labels locates its chunk): 54 and 83. With 8-byte line keys (one
// seeded 64-bit hash instead of two): 46 and 75. With label shapes (the
// names of a set's labels held once per table, its encoding the shape's
// number and the values) and 12-byte set entries (the Len and mask come
// from the shape), line keys without spare capacity: 37 and 63. The rest
// is the set entries, the line keys and the unique strings. On the
// benchmark's exposition (cmd/promfwd-bench: 20,000 series, 3 to 6 labels,
// a per-series value): 51 bytes before shapes, 43 after.
func TestParserBytesPerSeries(t *testing.T) {
	for _, tc := range []struct {
		name string
		rw   SeriesRewriter
		body []byte
		max  uint64
	}{
		{"no rewriter", nil, nil, 40},
		{"rewriter", &dropLabelRewriter{drop: "instance"}, nil, 66},
		{"benchmark workload", nil, benchExposition(3, 20000, 6), 46},
	} {
		t.Run(tc.name, func(t *testing.T) {
			per := parserBytesPerSeries(t, tc.rw, tc.body)
			if per > tc.max {
				t.Fatalf("parser holds %d bytes per series between scrapes, want at most %d", per, tc.max)
			}
		})
	}
}

// parserBytesPerSeries measures body (nil: generated families under two
// target labels) parsed three times.
func parserBytesPerSeries(t *testing.T, rw SeriesRewriter, body []byte) uint64 {
	opt := ParseOptions{NowMs: ptNow, Rewriter: rw}
	if body == nil {
		body = ptEncode(t, ptGenFamilies(6000, 3), FormatText)
		opt.TargetLabels = Labels{{Name: "instance", Value: "x:1"}, {Name: "job", Value: "mem"}}
	}
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	p := NewParser()
	n := 0
	for i := range 3 {
		opt.NowMs = ptNow + int64(i)*1000
		s, err := p.Parse(FormatText, body, opt)
		if err != nil {
			t.Fatal(err)
		}
		if rw != nil && s[0].Labels.Get("instance") != "" {
			t.Fatal("not rewritten")
		}
		n = len(s)
	}
	with := heap()
	runtime.KeepAlive(p)
	p = nil
	without := heap()
	if with < without {
		t.Fatalf("heap grew when the parser went: %d then %d", with, without)
	}
	per := (with - without) / uint64(n)
	t.Logf("parser holds %d bytes per series (%d series)", per, n)
	return per
}

// dropLabelRewriter removes one label from every series.
type dropLabelRewriter struct {
	drop string
	buf  Labels
}

func (r *dropLabelRewriter) RewriteSeries(name string, ls Labels) (string, Labels, RewriteVerdict) {
	r.buf = r.buf[:0]
	for _, l := range ls {
		if l.Name != r.drop {
			r.buf = append(r.buf, l)
		}
	}
	return name, r.buf, RewriteKeep
}

// A target's first text scrape puts every series in the duplicate-check
// map (none is in the line cache yet); the next scrape finds them through
// the cache, so the map goes with the first Parse instead of staying until
// the third (22 MB of start-up peak at 1M series). Protobuf, which has no
// line cache, and a rewriter, which checks every line of a changed scrape
// through the map, keep it for reuse.
func TestFirstScrapeDropsSeriesMap(t *testing.T) {
	fams := ptGenFamilies(2000, 3)
	tl := Labels{{Name: "instance", Value: "x:1"}, {Name: "job", Value: "mem"}}
	for _, tc := range []struct {
		name string
		f    Format
		rw   SeriesRewriter
		kept bool
	}{
		{"text", FormatText, nil, false},
		{"openmetrics", FormatOpenMetrics, nil, false},
		{"protobuf", FormatProtobuf, nil, true},
		{"text with rewriter", FormatText, &dropLabelRewriter{drop: "instance"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ptEncode(t, fams, tc.f)
			p := NewParser()
			s, err := p.Parse(tc.f, body, ParseOptions{NowMs: ptNow, TargetLabels: tl, Rewriter: tc.rw})
			if err != nil {
				t.Fatal(err)
			}
			if len(s) < 2*seenKeepMax {
				t.Fatalf("only %d samples", len(s))
			}
			if got := len(p.seen.m) > 0; got != tc.kept {
				t.Fatalf("after the first Parse the map holds %d entries, want kept=%v", len(p.seen.m), tc.kept)
			}
			// The second scrape still detects a duplicate of a series
			// the cache knows, with the map gone.
			if tc.f != FormatText {
				return
			}
			var first []byte // the first sample line
			for _, l := range bytes.SplitAfter(body, []byte("\n")) {
				if len(l) > 1 && l[0] != '#' {
					first = l
					break
				}
			}
			dup := append(slices.Clip(body), first...)
			if _, err := p.Parse(tc.f, dup, ParseOptions{NowMs: ptNow + 1000, TargetLabels: tl, Rewriter: tc.rw}); err != nil {
				t.Fatal(err)
			}
			if d := p.Dropped(); d.Duplicate != 1 {
				t.Fatalf("Dropped = %+v, want 1 duplicate", d)
			}
		})
	}
}
