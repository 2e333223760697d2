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
// the last scrape's samples.
func TestParserBytesPerSeries(t *testing.T) {
	body := ptEncode(t, ptGenFamilies(6000, 3), FormatText)
	opt := ParseOptions{NowMs: ptNow, TargetLabels: Labels{{Name: "instance", Value: "x:1"}, {Name: "job", Value: "mem"}}}
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
	if per > 64 {
		t.Fatalf("parser holds %d bytes per series between scrapes, want at most 64", per)
	}
}
