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
// Parse of the same body with the same (now warm) Parser must agree, in
// samples and Dropped, also when it keeps exemplars.
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
		dropped := p.Dropped()
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
		if p.Dropped() != dropped {
			t.Fatalf("second parse dropped %+v, first %+v", p.Dropped(), dropped)
		}
		// Keeping exemplars changes no sample, and every kept exemplar
		// has sorted, unique, non-empty labels.
		opt.Exemplars = true
		third, err := p.Parse(format, body, opt)
		if err != nil {
			t.Fatalf("parse keeping exemplars failed: %v", err)
		}
		if err := ptInvariants(third); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ptRenderAll(first), ptRenderAll(third)) {
			t.Fatalf("parse keeping exemplars differs:\n%q\n%q", ptRenderAll(first), ptRenderAll(third))
		}
		for i := range third {
			e := third[i].Exemplar()
			if e == nil {
				continue
			}
			for j, l := range e.Labels {
				if l.Name == "" || l.Value == "" || (j > 0 && e.Labels[j-1].Name >= l.Name) {
					t.Fatalf("sample %d: exemplar labels %v not sorted, unique and non-empty", i, e.Labels)
				}
			}
		}
	})
}
