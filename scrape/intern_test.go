package scrape

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

func TestInternerSharesAndValidates(t *testing.T) {
	var in interner
	in.begin()
	a, ok1 := in.bytes([]byte("value"))
	b, ok2 := in.bytes([]byte("value"))
	if !ok1 || !ok2 || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatalf("same bytes not shared: %v %v", ok1, ok2)
	}
	if _, ok := in.bytes([]byte{0xff, 'x'}); ok {
		t.Fatal("invalid UTF-8 interned")
	}
	if s, ok := in.string("value"); !ok || unsafe.StringData(s) != unsafe.StringData(a) {
		t.Fatal("string lookup did not return the interned copy")
	}
}

// TestParserInternTableBounded scrapes a source whose label values never
// repeat: the intern table must stay bounded by the rebuild rule, while a
// steady source keeps every string.
func TestParserInternTableBounded(t *testing.T) {
	p := NewParser()
	const series = 500
	for scrape := range 100 {
		var b strings.Builder
		for i := range series {
			fmt.Fprintf(&b, "req{id=\"%d-%d\"} 1\n", scrape, i)
		}
		if _, err := p.Parse(FormatText, []byte(b.String()), ParseOptions{}); err != nil {
			t.Fatal(err)
		}
		if n, limit := p.strs.len(), 2*(series+2)+internMinKeep+series+2; n > limit {
			t.Fatalf("scrape %d: intern table holds %d strings, bound %d", scrape, n, limit)
		}
	}
	steady := []byte("a{x=\"1\"} 1\nb{y=\"2\"} 2\n")
	first, _ := p.Parse(FormatText, steady, ParseOptions{})
	second, _ := p.Parse(FormatText, steady, ParseOptions{})
	if unsafe.StringData(first[1].Labels.At(0).Value) != unsafe.StringData(second[1].Labels.At(0).Value) {
		t.Error("steady scrape did not reuse interned strings")
	}
}

// TestParseSteadyAllocations pins the allocation goal: a repeated scrape of
// an unchanged exposition allocates the result slice and its label arena and
// nothing per sample.
func TestParseSteadyAllocations(t *testing.T) {
	fams := ptGenFamilies(500, 5)
	for _, f := range []Format{FormatText, FormatOpenMetrics} {
		t.Run(f.String(), func(t *testing.T) {
			body := ptEncode(t, fams, f)
			p := NewParser()
			opt := ParseOptions{NowMs: 1, TargetLabels: Labels{{"host", "h"}, {"job", "j"}}}
			samples, err := p.Parse(f, body, opt)
			if err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(5, func() {
				if _, err := p.Parse(f, body, opt); err != nil {
					t.Fatal(err)
				}
			})
			if allocs > 4 {
				t.Errorf("%v allocations per Parse of %d samples, want at most 4", allocs, len(samples))
			}
		})
	}
}
