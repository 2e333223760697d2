package scrape

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// compactOf stores ls in a fresh table, as the parser does.
func compactOf(t *symTable, ls Labels) LabelSet {
	var a labelArena
	return a.encode(t, ls)
}

func TestLabelSetForms(t *testing.T) {
	ls := Labels{{"a", "1"}, {"instance", "h:1"}, {"job", "j"}, {"le", "+Inf"}}
	tab := newSymTable(nil)
	withTL := newSymTable(Labels{{"instance", "h:1"}, {"job", "j"}})
	otherJob := newSymTable(Labels{{"instance", "h:1"}, {"job", "other"}}) // honor_labels: the exposed job won
	allTL := newSymTable(ls)
	sets := map[string]LabelSet{
		"plain":                     SetOf(ls),
		"compact":                   compactOf(tab, ls),
		"compact, target labels":    compactOf(withTL, ls),
		"compact, one target label": compactOf(newSymTable(Labels{{"a", "1"}, {"zone", ""}}), ls),
		"compact, target differs":   compactOf(otherJob, ls),
		"compact, only target":      compactOf(allTL, ls),
	}
	for form, want := range map[string]uint32{"compact": 0, "compact, target labels": 0b0110, "compact, one target label": 1,
		"compact, target differs": 0, "compact, only target": 0b1111} {
		if got := sets[form].mask(); got != want {
			t.Errorf("%s: target mask %b, want %b", form, got, want)
		}
	}
	for form, s := range sets {
		t.Run(form, func(t *testing.T) {
			if s.Len() != len(ls) {
				t.Fatalf("Len %d, want %d", s.Len(), len(ls))
			}
			for i, l := range ls {
				if s.At(i) != l || s.Name(i) != l.Name {
					t.Fatalf("At(%d) = %v, want %v", i, s.At(i), l)
				}
				if s.Get(l.Name) != l.Value || !s.Has(l.Name) {
					t.Fatalf("Get(%q) = %q", l.Name, s.Get(l.Name))
				}
			}
			if s.Get("nope") != "" || s.Has("nope") {
				t.Fatal("absent label found")
			}
			if got := s.Labels(); !slices.Equal(got, ls) {
				t.Fatalf("Labels() = %v", got)
			}
			if got := s.AppendTo(Labels{{"x", "y"}}); len(got) != len(ls)+1 || got[0] != (Label{"x", "y"}) {
				t.Fatalf("AppendTo = %v", got)
			}
			var seen Labels
			for i, l := range s.All() {
				if i == 2 {
					break
				}
				seen = append(seen, l)
			}
			if !slices.Equal(seen, ls[:2]) {
				t.Fatalf("All with break = %v", seen)
			}
			if s.String() != ls.String() {
				t.Fatalf("String %s, want %s", s, ls)
			}
			if s.SeriesHash("m") != SeriesHash("m", ls) {
				t.Fatal("SeriesHash differs from the slice form's")
			}
			if !s.EqualLabels(ls) || s.EqualLabels(ls[:3]) || s.EqualLabels(Labels{{"a", "2"}, ls[1], ls[2], ls[3]}) {
				t.Fatal("EqualLabels wrong")
			}
		})
	}
	p, c := sets["plain"], sets["compact"]
	other := compactOf(tab, Labels{{"a", "2"}, {"instance", "h:1"}, {"job", "j"}, {"le", "+Inf"}})
	otherTab := compactOf(newSymTable(nil), ls)
	for _, tc := range []struct {
		name string
		a, b LabelSet
		want bool
	}{
		{"plain vs compact", p, c, true},
		{"compact same table, other value", c, other, false},
		{"compact other table", c, otherTab, true},
		{"target labels elided vs stored", sets["compact, target labels"], c, true},
		{"target labels elided, same table", sets["compact, target labels"], compactOf(withTL, ls), true},
		{"target labels elided, other value", sets["compact, target labels"], compactOf(withTL, Labels{{"a", "2"}, ls[1], ls[2], ls[3]}), false},
		{"all elided", sets["compact, only target"], p, true},
		{"shorter", c, SetOf(ls[:3]), false},
		{"empty", LabelSet{}, SetOf(nil), true},
	} {
		if got := tc.a.Equal(tc.b); got != tc.want || tc.b.Equal(tc.a) != tc.want {
			t.Errorf("%s: Equal = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !c.Same(c) || c.Same(otherTab) {
		t.Error("Same wrong")
	}
}

// TestSymTablePagesAndIndex fills a table over several pages: every set
// keeps reading its own strings, the index goes once unused and comes back.
func TestSymTablePagesAndIndex(t *testing.T) {
	tab := newSymTable(nil)
	var a labelArena
	var sets []LabelSet
	for i := range 3 * symPageSize {
		sets = append(sets, a.encode(tab, Labels{{"id", fmt.Sprint(i)}, {"job", "j"}}))
	}
	if len(tab.view.pages) != 4 || tab.n != 3*symPageSize+3 {
		t.Fatalf("%d pages, %d symbols", len(tab.view.pages), tab.n)
	}
	for i, s := range sets {
		if s.Get("id") != fmt.Sprint(i) || s.Get("job") != "j" {
			t.Fatalf("set %d reads %s", i, s)
		}
	}
	tab.endParse() // used
	tab.endParse()
	tab.endParse()
	if tab.idx != nil {
		t.Fatal("index kept after Parses that did not use it")
	}
	if s := a.encode(tab, Labels{{"id", "7"}, {"job", "j"}}); !s.Equal(sets[7]) || tab.n != 3*symPageSize+3 {
		t.Fatalf("rebuilt index added symbols: %d, %s", tab.n, s)
	}
}

// TestParserSymbolsRotate scrapes a source whose label values never repeat:
// the parser's symbol table must stay bounded (a new table once the old one
// is mostly unused), samples of every scrape must keep their labels, a
// sample kept from before a rotation too, and a steady source must keep one
// table and share its sets.
func TestParserSymbolsRotate(t *testing.T) {
	p := NewParser()
	const series = 500
	opt := ParseOptions{TargetLabels: Labels{{"job", "j"}}}
	var kept []Sample
	tables := map[*symTable]bool{}
	for n := range 60 {
		var b strings.Builder
		for i := range series {
			fmt.Fprintf(&b, "req{id=\"%d-%d\"} 1\n", n, i)
		}
		out, err := p.Parse(FormatText, []byte(b.String()), opt)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			kept = out
		}
		for i := range out {
			if got, want := out[i].Labels.Get("id"), fmt.Sprintf("%d-%d", n, i); got != want || out[i].Labels.Get("job") != "j" {
				t.Fatalf("scrape %d sample %d: %s, want id %s", n, i, out[i].Labels, want)
			}
		}
		tables[p.syms] = true
		if limit := uint32(2*(series+2) + symMinKeep + series + 2); p.syms.n > limit {
			t.Fatalf("scrape %d: symbol table holds %d, bound %d", n, p.syms.n, limit)
		}
	}
	if len(tables) < 2 {
		t.Fatal("the table never rotated")
	}
	for i := range kept {
		if kept[i].Labels.Get("id") != fmt.Sprintf("0-%d", i) {
			t.Fatalf("a first scrape's sample now reads %s", kept[i].Labels)
		}
	}
	steady := []byte("a{x=\"1\"} 1\nb{y=\"2\"} 2\n")
	first, _ := p.Parse(FormatText, steady, opt)
	tab := p.syms
	for range 5 {
		again, err := p.Parse(FormatText, steady, opt)
		if err != nil {
			t.Fatal(err)
		}
		if !again[1].Labels.Same(first[1].Labels) {
			t.Fatal("steady scrape did not share its label sets")
		}
	}
	if p.syms != tab || tab.idx != nil {
		t.Fatalf("steady scrapes: new table %v, index kept %v", p.syms != tab, tab.idx != nil)
	}
}

// TestLabelSetsReadWhileParsing reads a scrape's samples in other
// goroutines (as sinks encode them) while the parser parses the next
// scrapes, which add symbols and pages. Under -race (the README's test
// command) it fails on any write a reader can see: appending a page to
// the view the readers hold, instead of making a new view, fails it.
func TestLabelSetsReadWhileParsing(t *testing.T) {
	for _, f := range []Format{FormatText, FormatProtobuf} {
		t.Run(f.String(), func(t *testing.T) {
			p := NewParser()
			opt := ParseOptions{TargetLabels: Labels{{"instance", "h:1"}, {"job", "j"}}}
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			stop := make(chan struct{})
			for n := range 8 {
				fams := ptGenFamilies(400, 3)
				for i, mf := range fams { // new series with new symbols, more than a page a scrape
					for j, m := range mf.Metric {
						m.Label = append(m.Label, &dto.LabelPair{Name: proto.String("gen"), Value: proto.String(fmt.Sprintf("%d-%d-%d", n, i, j))})
					}
				}
				out, err := p.Parse(f, ptEncode(t, fams, f), opt)
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() { // reads until the parser is done: reads and the parser's writes overlap
					defer wg.Done()
					for {
						for i := range out {
							s := &out[i]
							if s.Labels.SeriesHash(s.Name) != s.Hash || s.Labels.Get("job") != "j" {
								errs <- fmt.Errorf("scrape %d sample %d: %s%s does not match its hash", n, i, s.Name, s.Labels)
								return
							}
						}
						select {
						case <-stop:
							return
						default:
						}
					}
				}()
			}
			close(stop)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// dropMostRewriter keeps one series in ten (by its id label) and counts
// its calls.
type dropMostRewriter struct{ calls int }

func (r *dropMostRewriter) RewriteSeries(name string, ls Labels) (string, Labels, RewriteVerdict) {
	r.calls++
	if !strings.HasSuffix(SetOf(ls).Get("id"), "0") {
		return "", nil, RewriteDrop
	}
	return name, ls, RewriteKeep
}

// TestParserSymbolsKeepDroppedLines: the label strings of lines a rule
// drops are in the table too (they are read before the rule runs), so a
// steady target whose rules drop most lines holds many more symbols than
// its kept series use. That must not make the table look wasteful: a new
// table would forget the line cache and run every rule again on each
// scrape.
func TestParserSymbolsKeepDroppedLines(t *testing.T) {
	var b strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&b, "req{id=\"%d\"} 1\n", i)
	}
	body := []byte(b.String())
	rw := &dropMostRewriter{}
	p := NewParser()
	opt := ParseOptions{TargetLabels: Labels{{"job", "j"}}, Rewriter: rw}
	out, err := p.Parse(FormatText, body, opt)
	if err != nil || len(out) != 1000 {
		t.Fatalf("first scrape: %d samples, %v", len(out), err)
	}
	tab := p.syms
	for n := range 5 {
		rw.calls = 0
		out, err := p.Parse(FormatText, body, opt)
		if err != nil || len(out) != 1000 {
			t.Fatalf("scrape %d: %d samples, %v", n, len(out), err)
		}
		if rw.calls != 0 || p.syms != tab {
			t.Fatalf("scrape %d: %d rule runs, new table %v: the steady target was parsed afresh", n, rw.calls, p.syms != tab)
		}
	}
}

// groupedText is two histogram series and a summary series, each group's
// samples differing only in le or quantile.
const groupedText = `# TYPE h histogram
h_bucket{a="1",le="0.1"} 1
h_bucket{a="1",le="+Inf"} 2
h_sum{a="1"} 3
h_count{a="1"} 2
h_bucket{a="2",le="0.1"} 1
h_bucket{a="2",le="+Inf"} 2
h_sum{a="2"} 3
h_count{a="2"} 2
# TYPE s summary
s{a="2",quantile="0.5"} 1
s{a="2",quantile="0.9"} 2
s_sum{a="2"} 3
s_count{a="2"} 2
`

// TestGroupEndCompact: GroupEnd groups the parser's compact sets (the
// reference-level comparison) exactly as it groups the same labels as
// plain sets (the string comparison).
func TestGroupEndCompact(t *testing.T) {
	p := NewParser()
	out, err := p.Parse(FormatText, []byte(groupedText), ParseOptions{TargetLabels: Labels{{"job", "j"}}})
	if err != nil {
		t.Fatal(err)
	}
	plain := slices.Clone(out)
	for i := range plain {
		plain[i].Labels = SetOf(plain[i].Labels.Labels())
	}
	var ends []int
	for i := 0; i < len(out); i = GroupEnd(out, i) {
		if GroupEnd(out, i) != GroupEnd(plain, i) {
			t.Fatalf("sample %d: group ends at %d, at %d with plain sets", i, GroupEnd(out, i), GroupEnd(plain, i))
		}
		ends = append(ends, GroupEnd(out, i))
	}
	if !slices.Equal(ends, []int{4, 8, 12}) {
		t.Fatalf("group ends %v, want [4 8 12]", ends)
	}
	if same, ok := out[0].Labels.sameButBounds(out[1].Labels); !ok || !same {
		t.Fatal("two buckets of one series not compared on references")
	}
	if same, ok := out[0].Labels.sameButBounds(out[4].Labels); !ok || same {
		t.Fatal("buckets of two series (a=1, a=2) compared as one group")
	}
	if _, ok := out[0].Labels.sameButBounds(out[2].Labels); ok {
		t.Fatal("a bucket's and a _sum's sets (one label fewer) compared on references")
	}
}

func BenchmarkGroupEnd(b *testing.B) {
	var body strings.Builder
	body.WriteString("# TYPE h histogram\n")
	for s := range 200 {
		for _, le := range []string{"0.005", "0.01", "0.05", "0.1", "0.5", "1", "+Inf"} {
			fmt.Fprintf(&body, "h_bucket{code=\"200\",handler=\"/api/%d\",method=\"GET\",le=%q} 1\n", s, le)
		}
		fmt.Fprintf(&body, "h_sum{code=\"200\",handler=\"/api/%d\",method=\"GET\"} 1\nh_count{code=\"200\",handler=\"/api/%d\",method=\"GET\"} 1\n", s, s)
	}
	out, err := NewParser().Parse(FormatText, []byte(body.String()), ParseOptions{TargetLabels: Labels{{"instance", "h:1"}, {"job", "j"}}})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		for i := 0; i < len(out); i = GroupEnd(out, i) {
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(out)), "ns/sample")
}
