package scrape

import (
	"runtime"
	"testing"
)

// TestParserBytesPerSeries measures what a Parser keeps between scrapes,
// beyond the samples it returned (which its caller keeps anyway, with
// their label slices), for a steady exposition: the line cache, the intern
// table, family metadata and duplicate-detection state. It is measured on
// the live heap, so it holds whatever the layout: 141 bytes per series
// with a line cache of its own entries (names, labels, hashes,
// duplicate-detection state and two maps), 36 with keys by position over
// the last scrape's samples (this scrape's and the last one's), 19 with
// one array of keys. With a rewriter the cache also keeps a 16-byte record
// per line and a timestamp per line: 81 bytes with two generations of
// keys and records, 46 with one.
func TestParserBytesPerSeries(t *testing.T) {
	for _, tc := range []struct {
		name string
		rw   SeriesRewriter
		max  uint64
	}{
		{"no rewriter", nil, 24},
		{"rewriter", &dropLabelRewriter{drop: "instance"}, 52},
	} {
		t.Run(tc.name, func(t *testing.T) {
			per := parserBytesPerSeries(t, tc.rw)
			if per > tc.max {
				t.Fatalf("parser holds %d bytes per series between scrapes, want at most %d", per, tc.max)
			}
		})
	}
}

func parserBytesPerSeries(t *testing.T, rw SeriesRewriter) uint64 {
	body := ptEncode(t, ptGenFamilies(6000, 3), FormatText)
	opt := ParseOptions{NowMs: ptNow, TargetLabels: Labels{{Name: "instance", Value: "x:1"}, {Name: "job", Value: "mem"}}, Rewriter: rw}
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	p := NewParser()
	var s []Sample
	for i := range 3 {
		opt.NowMs = ptNow + int64(i)*1000
		var err error
		if s, err = p.Parse(FormatText, body, opt); err != nil {
			t.Fatal(err)
		}
	}
	if rw != nil && s[0].Labels.Get("instance") != "" {
		t.Fatal("not rewritten")
	}
	with := heap()
	runtime.KeepAlive(p)
	p = nil
	without := heap()
	runtime.KeepAlive(s)
	if with < without {
		t.Fatalf("heap grew when the parser went: %d then %d", with, without)
	}
	per := (with - without) / uint64(len(s))
	t.Logf("parser holds %d bytes per series (%d series)", per, len(s))
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
