package relabel

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/promfwd/promfwd/scrape"
)

// seqRules drop, keep, rename a metric, drop a label (merging series),
// remove the name of some series (invalid) and shard by hashmod.
const seqRules = `
- source_labels: [__name__]
  regex: gone_.*
  action: drop
- source_labels: [__name__, x]
  regex: "d;3"
  action: drop
- source_labels: [__name__]
  regex: "old_(.*)"
  target_label: __name__
  replacement: new_$1
- source_labels: [__name__]
  regex: "(m)"
  action: replace
  target_label: __name__
  replacement: a
- regex: pod
  action: labeldrop
- source_labels: [__name__, x]
  regex: "noname;1"
  target_label: __name__
  replacement: ""
- source_labels: [x]
  target_label: __tmp
  modulus: 4
  action: hashmod
- source_labels: [__name__, __tmp]
  regex: "b;[03]"
  action: drop
- regex: __tmp
  action: labeldrop
`

// seqRender renders what a sink would see of a sample.
func seqRender(samples []scrape.Sample) string {
	var b strings.Builder
	for i := range samples {
		s := &samples[i]
		fmt.Fprintf(&b, "%s%s %s @%d %v %s", s.Name, s.Labels, strconv.FormatFloat(s.Value, 'g', -1, 64), s.TimestampMs, s.ExplicitTS, s.Kind)
		if s.Meta != nil {
			fmt.Fprintf(&b, " %s/%s", s.Meta.Family, s.Meta.Type)
		}
		if e := s.Exemplar(); e != nil {
			fmt.Fprintf(&b, " # %s %g", e.Labels, e.Value)
		}
		if s.Hash != scrape.SeriesHash(s.Name, s.Labels.Labels()) {
			b.WriteString(" BAD-HASH")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

type seqResult struct {
	samples string
	dropped scrape.Dropped
	stats   scrape.RewriteStats
	err     bool
}

// parseRewritten parses with the rewriter in the parser (the line cache
// path).
func parseRewritten(p *scrape.Parser, f scrape.Format, body []byte, opt scrape.ParseOptions, rules []*Config) seqResult {
	opt.Rewriter = NewRewriter(rules)
	return parseWith(p, f, body, opt)
}

func parseWith(p *scrape.Parser, f scrape.Format, body []byte, opt scrape.ParseOptions) seqResult {
	out, err := p.Parse(f, body, opt)
	if err != nil {
		return seqResult{err: true}
	}
	st, ok := p.Rewritten()
	if !ok && opt.Rewriter != nil && f != scrape.FormatProtobuf {
		panic("rewriter did not run")
	}
	return seqResult{samples: seqRender(out), dropped: p.Dropped(), stats: st}
}

// parseThenStage is the protobuf path: parse, then a Stage.
func parseThenStage(f scrape.Format, body []byte, opt scrape.ParseOptions, rules []*Config) seqResult {
	p := scrape.NewParser()
	out, err := p.Parse(f, body, opt)
	if err != nil {
		return seqResult{err: true}
	}
	rel, st := NewStage(rules).Relabel(out)
	return seqResult{samples: seqRender(rel), dropped: p.Dropped(),
		stats: scrape.RewriteStats{In: len(out), Dropped: st.Dropped, Invalid: st.Invalid}}
}

// TestParserRewriteRandomSequences: one parser with a rewriter, across
// random scrape sequences (series added, removed, reordered, repeated with
// older, equal and later timestamps, spelled differently, family types
// changing), gives for each scrape exactly what a fresh parser with the
// rewriter gives, and what a fresh parser followed by a Stage gives:
// samples, repeats dropped, and the rules' drops, invalid and merged
// series. A cache that served a stale verdict, a stale identity or a
// stale merge decision fails here.
func TestParserRewriteRandomSequences(t *testing.T) {
	rules := mustRules(t, seqRules)
	pool := []string{
		`a{x="1",y="2"} 1`, `a{y="2",x="1"} 2`, `a{ x="1" , y="2" } 3`, `{"a",x="1",y="2"} 4`,
		`a{x="1",y="2"} 5 1000`, `a{x="1",y="2"} 6 2000`, `a{y="2",x="1"} 7 1500`,
		`m{x="1",y="2"} 8`, `m{x="1",y="2"} 9 2500`, `m{x="2"} 10`,
		`b{x="1"} 1`, `b{x="2"} 2`, `b{x="3"} 3`, `b{x="4"} 4`, `b{x="5"} 5 3000`, `b{x="5"} 6 3000`,
		`h_bucket{le="1"} 1`, `h_bucket{le="1.0"} 2`, `h_bucket{le="+Inf"} 3`, `h_bucket 4`, `h_sum 1`, `h_count 3`,
		`c{job="x"} 1`, `c{exported_job="x"} 2`, `c 3`,
		`d{x="1"} 1`, `d{x="2"} 2`, `d{x="3"} 3`, `d{x="3"} 4 500`, `d{x="1"} 5 500`,
		`p{pod="a",s="1"} 1`, `p{pod="b",s="1"} 2`, `p{s="1"} 3`, `p{pod="c",s="2"} 4 100`, `p{pod="a",s="1"} 5 200`,
		`old_x{x="1"} 1`, `new_x{x="1"} 2`, `old_x{x="2"} 3`,
		`gone_a 1`, `gone_a{x="1"} 2`, `gone_a 3 4000`,
		`noname{x="1"} 1`, `noname{x="2"} 2`, `noname{x="1"} 3 10`,
		`{"gone_q"} 1`, `{"old_q",x="1"} 2`, `old_q {x="1"} 3`, `old_q{x="1"} 4 20`,
	}
	types := []string{"", "# TYPE h histogram", "# TYPE a gauge", "# TYPE h untyped", "# TYPE d counter", "# TYPE p gauge", "# TYPE old_q counter", "# TYPE old_x gauge"}
	rng := rand.New(rand.NewPCG(12, 5))
	for seq := range 400 {
		opt := scrape.ParseOptions{NowMs: 9000, TargetLabels: scrape.Labels{{Name: "job", Value: "j"}}, HonorLabels: seq%3 == 0}
		warm := scrape.NewParser()
		rw := NewRewriter(rules) // one per source, as the forwarder has
		base := rng.Perm(len(pool))[:1+rng.IntN(len(pool))]
		for n := range 8 {
			lines := make([]string, 0, len(base)+3)
			for _, i := range base {
				if rng.IntN(8) > 0 {
					lines = append(lines, pool[i])
				}
			}
			for range rng.IntN(3) {
				lines = append(lines, pool[rng.IntN(len(pool))])
			}
			if rng.IntN(3) == 0 {
				rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
			}
			if ty := types[rng.IntN(len(types))]; ty != "" {
				lines = append([]string{ty}, lines...)
			}
			if n > 0 && rng.IntN(4) == 0 {
				base = rng.Perm(len(pool))[:1+rng.IntN(len(pool))] // another exposition
			}
			body := []byte(strings.Join(lines, "\n") + "\n")
			wopt := opt
			wopt.Rewriter = rw
			got := parseWith(warm, scrape.FormatText, body, wopt)
			fresh := parseRewritten(scrape.NewParser(), scrape.FormatText, body, opt, rules)
			staged := parseThenStage(scrape.FormatText, body, opt, rules)
			if got != fresh || got != staged {
				t.Fatalf("sequence %d scrape %d:\n%s\nwarm %+v %+v:\n%s\nfresh %+v %+v:\n%s\nparse+stage %+v %+v:\n%s",
					seq, n, body, got.dropped, got.stats, got.samples, fresh.dropped, fresh.stats, fresh.samples,
					staged.dropped, staged.stats, staged.samples)
			}
		}
	}
}

// TestParserRewriteSteadyCases: expositions that keep every line at its
// own position, so the parser trusts the last verdicts, except where a
// verdict depended on the rest of the scrape.
func TestParserRewriteSteadyCases(t *testing.T) {
	rules := mustRules(t, seqRules)
	for _, tc := range []struct {
		name   string
		bodies []string
	}{
		{"repeat with swapped timestamps", []string{
			"a{x=\"1\"} 1 1000\na{x=\"1\"} 2 2000\n",
			"a{x=\"1\"} 1 2000\na{x=\"1\"} 2 1000\n",
			"a{x=\"1\"} 1 1000\na{x=\"1\"} 2 2000\n",
		}},
		{"merged series, then alone", []string{
			"p{pod=\"a\"} 1\np{pod=\"b\"} 2\n",
			"p{pod=\"a\"} 1\np{pod=\"b\"} 2\n",
			"p{pod=\"b\"} 2\n",
			"p{pod=\"a\"} 1\np{pod=\"b\"} 2\n",
		}},
		{"dropped and invalid lines stay so", []string{
			"gone_a 1\nnoname{x=\"1\"} 2\nb{x=\"1\"} 3\nb{x=\"2\"} 4\n",
			"gone_a 5\nnoname{x=\"1\"} 6\nb{x=\"1\"} 7\nb{x=\"2\"} 8\n",
			"noname{x=\"1\"} 6\ngone_a 5\nb{x=\"2\"} 8\n",
		}},
		{"a repeat of a dropped series", []string{
			"gone_a 1 100\ngone_a 2 100\nb{x=\"2\"} 1\n",
			"gone_a 1 100\ngone_a 2 200\nb{x=\"2\"} 1\n",
			"gone_a 1 100\ngone_a 2 100\nb{x=\"2\"} 1\n",
		}},
		{"family type changes under a cached line", []string{
			"h_bucket{le=\"1\"} 1\n",
			"# TYPE h histogram\nh_bucket{le=\"1\"} 1\n",
			"h_bucket{le=\"1\"} 1\n",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := scrape.ParseOptions{NowMs: 9000, TargetLabels: scrape.Labels{{Name: "job", Value: "j"}}}
			warm := scrape.NewParser()
			wopt := opt
			wopt.Rewriter = NewRewriter(rules)
			for i, b := range tc.bodies {
				got := parseWith(warm, scrape.FormatText, []byte(b), wopt)
				want := parseThenStage(scrape.FormatText, []byte(b), opt, rules)
				if got != want {
					t.Fatalf("scrape %d:\n%s\nwarm %+v %+v:\n%s\nwant %+v %+v:\n%s", i, b, got.dropped, got.stats, got.samples,
						want.dropped, want.stats, want.samples)
				}
			}
		})
	}
}

// countingRewriter counts the series the parser asks about.
type countingRewriter struct {
	*Rewriter
	calls int
}

func (c *countingRewriter) RewriteSeries(name string, ls scrape.Labels) (string, scrape.Labels, scrape.RewriteVerdict) {
	c.calls++
	return c.Rewriter.RewriteSeries(name, ls)
}

// TestParserRewriteCachesVerdicts: after the first scrape, unchanged series
// lines run no rule, kept ones share the first scrape's labels, and dropped
// ones stay dropped.
func TestParserRewriteCachesVerdicts(t *testing.T) {
	rw := &countingRewriter{Rewriter: NewRewriter(mustRules(t, seqRules))}
	opt := scrape.ParseOptions{NowMs: 1, TargetLabels: scrape.Labels{{Name: "job", Value: "j"}}, Rewriter: rw}
	p := scrape.NewParser()
	body := func(v int) []byte {
		var b strings.Builder
		for i := range 50 {
			fmt.Fprintf(&b, "b{x=\"%d\",pod=\"p\"} %d\ngone_x{i=\"%d\"} %d\nold_y{i=\"%d\"} %d\n", i, v, i, v, i, v)
		}
		return []byte(b.String())
	}
	first, err := p.Parse(scrape.FormatText, body(1), opt)
	if err != nil {
		t.Fatal(err)
	}
	firstStats, _ := p.Rewritten()
	if rw.calls != 150 || firstStats.In != 150 || firstStats.Dropped == 0 {
		t.Fatalf("first scrape: %d rewriter calls, %+v", rw.calls, firstStats)
	}
	for scrapeN := 2; scrapeN <= 3; scrapeN++ {
		rw.calls = 0
		out, err := p.Parse(scrape.FormatText, body(scrapeN), opt)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := p.Rewritten()
		if rw.calls != 0 || st != firstStats || len(out) != len(first) {
			t.Fatalf("scrape %d: %d rewriter calls, %+v (first %+v), %d samples (first %d)", scrapeN, rw.calls, st, firstStats, len(out), len(first))
		}
		for i := range out {
			if out[i].Name != first[i].Name || !out[i].Labels.Same(first[i].Labels) || out[i].Value != float64(scrapeN) {
				t.Fatalf("scrape %d sample %d: %s%s %v, not the first scrape's series", scrapeN, i, out[i].Name, out[i].Labels, out[i].Value)
			}
			if out[i].Labels.Get("pod") != "" || strings.HasPrefix(out[i].Name, "old_") {
				t.Fatalf("not rewritten: %s%s", out[i].Name, out[i].Labels)
			}
		}
	}
}

// TestParserRewriteOpenMetrics: OpenMetrics _created lines (never samples)
// between cached lines, and exemplars, on kept, renamed and dropped series.
func TestParserRewriteOpenMetrics(t *testing.T) {
	rules := mustRules(t, seqRules)
	body := func(v int) []byte {
		return fmt.Appendf(nil, `# TYPE old_c counter
old_c_total{x="1"} %d # {trace_id="a"} 1.0
old_c_created{x="1"} 1.0
old_c_total{x="2",pod="p"} %d # {trace_id="b"} 2.0
old_c_created{x="2",pod="p"} 1.0
# TYPE gone_c counter
gone_c_total %d # {trace_id="c"} 3.0
gone_c_created 1.0
# TYPE b gauge
b{x="1"} %d
b{x="2"} %d
# EOF
`, v, v, v, v, v)
	}
	opt := scrape.ParseOptions{NowMs: 9000, TargetLabels: scrape.Labels{{Name: "job", Value: "j"}}, Exemplars: true}
	warm := scrape.NewParser()
	wopt := opt
	wopt.Rewriter = NewRewriter(rules)
	for i := range 4 {
		b := body(i)
		got := parseWith(warm, scrape.FormatOpenMetrics, b, wopt)
		want := parseThenStage(scrape.FormatOpenMetrics, b, opt, rules)
		if got != want || got.err || !strings.Contains(got.samples, "new_c_total") || !strings.Contains(got.samples, `trace_id="b"`) {
			t.Fatalf("scrape %d:\nwarm %+v %+v:\n%s\nwant %+v %+v:\n%s", i, got.dropped, got.stats, got.samples,
				want.dropped, want.stats, want.samples)
		}
	}
}

// TestParserRewriteCachesAfterChange: a scrape that inserts a line keeps
// the cache of the lines before and after it, so the next identical scrape
// runs no rule.
func TestParserRewriteCachesAfterChange(t *testing.T) {
	rw := &countingRewriter{Rewriter: NewRewriter(mustRules(t, seqRules))}
	opt := scrape.ParseOptions{NowMs: 1, Rewriter: rw}
	p := scrape.NewParser()
	for i, tc := range []struct {
		body  string
		calls int
	}{
		{"a{x=\"1\"} 1\ngone_b 2\nold_c 3\nd 4\n", 4},
		{"a{x=\"1\"} 1\ngone_b 2\nold_c 3\nd 4\n", 0},
		{"a{x=\"1\"} 1\ngone_b 2\nnew_e 5\nold_c 3\nd 4\n", 1}, // inserted
		{"a{x=\"1\"} 1\ngone_b 2\nnew_e 5\nold_c 3\nd 4\n", 0},
		{"a{x=\"1\"} 1\nnew_e 5\nold_c 3\nd 4\n", 0}, // removed
		{"a{x=\"1\"} 1\nnew_e 5\nold_c 3\nd 4\n", 0},
	} {
		rw.calls = 0
		if _, err := p.Parse(scrape.FormatText, []byte(tc.body), opt); err != nil {
			t.Fatal(err)
		}
		if rw.calls != tc.calls {
			t.Fatalf("scrape %d: %d rewriter calls, want %d", i, rw.calls, tc.calls)
		}
	}
}
