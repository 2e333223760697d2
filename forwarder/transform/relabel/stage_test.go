package relabel

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/promfwd/promfwd/scrape"
)

func mustRules(t *testing.T, src string) []*Config {
	t.Helper()
	var rules []*Config
	if err := yaml.Unmarshal([]byte(src), &rules); err != nil {
		t.Fatal(err)
	}
	if err := Validate(rules); err != nil {
		t.Fatal(err)
	}
	return rules
}

func smp(name string, v float64, kv ...string) scrape.Sample {
	m := map[string]string{"__name__": name}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return sampleOf(m, v)
}

func TestStageMergedSeriesAreInvalid(t *testing.T) {
	rules := mustRules(t, `
- action: labeldrop
  regex: pod
`)
	in := []scrape.Sample{
		smp("x_total", 1, "pod", "a", "svc", "s"),
		smp("x_total", 2, "pod", "b", "svc", "s"),
		smp("x_total", 3, "svc", "t"),
	}
	st := NewStage(rules)
	for pass := range 3 {
		out, stats := st.Relabel(in)
		if len(out) != 2 || stats.Invalid != 1 || stats.Dropped != 0 {
			t.Fatalf("pass %d: out %v stats %+v", pass, out, stats)
		}
		// The first of the merged series wins, every time: a delta sink
		// never sees the value jump between pods.
		if out[0].Value != 1 || out[0].Labels.String() != `{svc="s"}` || out[1].Value != 3 {
			t.Fatalf("pass %d: out %v", pass, out)
		}
		if out[0].Hash != scrape.SeriesHash("x_total", out[0].Labels.Labels()) {
			t.Fatal("hash not recomputed")
		}
	}
	if in[0].Labels.String() != `{pod="a",svc="s"}` {
		t.Fatal("input modified")
	}
}

func TestStageMergeWithUnchangedSeries(t *testing.T) {
	// The renamed series equals one the rules do not touch.
	rules := mustRules(t, `
- source_labels: [env]
  regex: production
  target_label: env
  replacement: prod
`)
	in := []scrape.Sample{
		smp("up", 1, "env", "prod"),
		smp("up", 0, "env", "production"),
	}
	out, stats := NewStage(rules).Relabel(in)
	if len(out) != 1 || stats.Invalid != 1 || out[0].Value != 1 {
		t.Fatalf("out %v stats %+v", out, stats)
	}
}

func TestStageUnchangedReturnsInput(t *testing.T) {
	rules := mustRules(t, `
- source_labels: [__name__]
  regex: go_.*
  action: drop
`)
	in := []scrape.Sample{smp("a", 1), smp("b", 2)}
	out, stats := NewStage(rules).Relabel(in)
	if &out[0] != &in[0] || stats != (Stats{}) {
		t.Fatalf("copied without need: %+v", stats)
	}
	in = append(in, smp("go_x", 3))
	out, stats = NewStage(rules).Relabel(in)
	if len(out) != 2 || stats.Dropped != 1 {
		t.Fatalf("out %v stats %+v", out, stats)
	}
}

func TestStageNoNameIsInvalid(t *testing.T) {
	rules := mustRules(t, `
- source_labels: [kind]
  regex: bad
  target_label: __name__
  replacement: ""
`)
	out, stats := NewStage(rules).Relabel([]scrape.Sample{smp("a", 1, "kind", "bad"), smp("b", 1, "kind", "good")})
	if len(out) != 1 || out[0].Name != "b" || stats.Invalid != 1 {
		t.Fatalf("out %v stats %+v", out, stats)
	}
}

func TestStageInvalidLabelName(t *testing.T) {
	// labelmap writes whatever the replacement expands to; "$2" of a regex
	// with one group is empty, an invalid label name.
	rules := mustRules(t, `
- action: labelmap
  regex: (tag)
  replacement: $2
`)
	out, stats := NewStage(rules).Relabel([]scrape.Sample{smp("a", 1, "tag", "v"), smp("b", 1)})
	if len(out) != 1 || out[0].Name != "b" || stats.Invalid != 1 {
		t.Fatalf("out %v stats %+v", out, stats)
	}
}

// TestStageCache shows results are computed once per series: a rule whose
// result would differ on a second computation (it cannot, so the test
// counts computations through the cache size instead) and a label slice with
// equal content but another backing array still hits.
func TestStageCache(t *testing.T) {
	rules := mustRules(t, `
- source_labels: [a]
  target_label: b
`)
	st := NewStage(rules)
	s1 := smp("m", 1, "a", "x")
	out, _ := st.Relabel([]scrape.Sample{s1})
	if out[0].Labels.Get("b") != "x" {
		t.Fatalf("out %v", out)
	}
	s2 := smp("m", 2, "a", "x") // same series, new slice
	out2, _ := st.Relabel([]scrape.Sample{s2})
	if len(st.ents) != 1 || !out2[0].Labels.Same(out[0].Labels) || out2[0].Value != 2 {
		t.Fatalf("not served from the cache: %d entries", len(st.ents))
	}
	// A different series under the same hash (forced) is recomputed.
	s3 := smp("m", 3, "a", "y")
	s3.Hash = s1.Hash
	out3, _ := st.Relabel([]scrape.Sample{s3})
	if out3[0].Labels.Get("b") != "y" {
		t.Fatalf("stale cache entry used: %v", out3)
	}
}

func TestStagePrunes(t *testing.T) {
	rules := mustRules(t, `
- target_label: fixed
  replacement: v
`)
	st := NewStage(rules)
	for round := range 3 {
		batch := make([]scrape.Sample, 5000)
		for i := range batch {
			batch[i] = smp("m", 1, "i", strings.Repeat("x", round+1)+string(rune('a'+i%26))+string(rune(i)))
		}
		st.Relabel(batch)
	}
	if len(st.ents) > 2*5000+minKeep {
		t.Fatalf("cache holds %d entries", len(st.ents))
	}
}

func TestConflicts(t *testing.T) {
	tests := []struct {
		rules string
		want  string // "" = no conflict
	}{
		{"- action: labeldrop\n  regex: __name__", "removes __name__"},
		{"- action: labeldrop\n  regex: l.", "\"le\""},
		{"- action: labelkeep\n  regex: job|instance", "removes __name__"},
		{"- action: labelkeep\n  regex: __name__|job|le|quantile", ""},
		{"- target_label: quantile\n  replacement: x", "\"quantile\""},
		{"- target_label: __name__\n  replacement: \"\"", "removes __name__"},
		{"- target_label: __name__\n  replacement: renamed", ""}, // data-dependent: fine with one metric
		{"- source_labels: [a]\n  regex: b\n  target_label: le\n  replacement: x", ""},
		{"- source_labels: [a]\n  target_label: le", ""}, // $1: copies a value
		{"- action: labeldrop\n  regex: pod", ""},
		{"- action: labelmap\n  regex: (tag)\n  replacement: $2", "always expands to an empty label name"},
		{"- action: labelmap\n  regex: (tag)\n  replacement: ${2}${x}", "always expands"},
		{"- action: labelmap\n  regex: (tag)\n  replacement: $1", ""},
		{"- action: labelmap\n  regex: (?P<n>tag)\n  replacement: ${n}", ""},
		{"- action: labelmap\n  regex: (tag)\n  replacement: x$2", ""},
	}
	for _, tc := range tests {
		errs := Conflicts(mustRules(t, tc.rules))
		switch {
		case tc.want == "" && len(errs) > 0:
			t.Errorf("%q: unexpected %v", tc.rules, errs)
		case tc.want != "" && (len(errs) == 0 || !strings.Contains(errs[0].Error(), tc.want)):
			t.Errorf("%q: got %v, want %q", tc.rules, errs, tc.want)
		}
	}
}

func unmarshalRules(src string, rules *[]*Config) error {
	if err := yaml.Unmarshal([]byte(src), rules); err != nil {
		return err
	}
	return Validate(*rules)
}

// TestStageMergedVerdictFollowsOrder: the verdict of a steady batch is
// reused, but a batch in another order or with other series is judged anew.
func TestStageMergedVerdictFollowsOrder(t *testing.T) {
	rules := mustRules(t, "- action: labeldrop\n  regex: pod\n")
	a, b := smp("x", 1, "pod", "a"), smp("x", 2, "pod", "b")
	c := smp("x", 3, "pod", "c")
	st := NewStage(rules)
	for i, tc := range []struct {
		in   []scrape.Sample
		want float64
	}{
		{[]scrape.Sample{a, b}, 1},
		{[]scrape.Sample{a, b}, 1}, // steady
		{[]scrape.Sample{b, a}, 2}, // reordered: b first now
		{[]scrape.Sample{a}, 1},
		{[]scrape.Sample{c, a}, 3},
		{[]scrape.Sample{c, a}, 3},
	} {
		out, stats := st.Relabel(tc.in)
		if len(out) != 1 || out[0].Value != tc.want || stats.Invalid != len(tc.in)-1 {
			t.Fatalf("batch %d: out %v stats %+v, want value %v", i, out, stats, tc.want)
		}
	}
}
