package scrape

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzParse feeds arbitrary bodies to the text (om=false) and OpenMetrics
// parsers. Parse must never panic; on success every sample must have sorted,
// unique, non-empty labels and Hash == SeriesHash(Name, Labels), and a second
// Parse of the same body with the same (now warm) Parser must agree.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"text_basic.prom", "openmetrics_full.om"} {
		body, err := os.ReadFile(filepath.Join("testdata", "parse", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body, filepath.Ext(name) == ".om")
	}
	f.Fuzz(func(t *testing.T, body []byte, om bool) {
		format := FormatText
		if om {
			format = FormatOpenMetrics
		}
		p := NewParser()
		opt := ParseOptions{NowMs: 1, TargetLabels: Labels{{Name: "job", Value: "j"}, {Name: "le", Value: ""}}}
		first, err := p.Parse(format, body, opt)
		if err != nil {
			if first != nil {
				t.Fatalf("samples returned with error %v", err)
			}
			return
		}
		if err := ptInvariants(first); err != nil {
			t.Fatal(err)
		}
		second, err := p.Parse(format, body, opt)
		if err != nil {
			t.Fatalf("second parse failed: %v", err)
		}
		if !slices.Equal(ptRenderAll(first), ptRenderAll(second)) {
			t.Fatalf("second parse differs:\n%q\n%q", ptRenderAll(first), ptRenderAll(second))
		}
	})
}
