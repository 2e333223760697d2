package relabel

import (
	"bytes"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/promfwd/promfwd/scrape"
)

// PromCase is one case of testdata/prometheus_cases.yaml, transcribed from
// Prometheus' own model/relabel tests. The config layer runs the same file
// through its loader.
type PromCase struct {
	Name   string            `yaml:"name"`
	Input  map[string]string `yaml:"input"`
	Rules  yaml.Node         `yaml:"rules"`
	Output map[string]string `yaml:"output"`
	Drop   bool              `yaml:"drop"`
	Sample string            `yaml:"sample"` // "invalid": the sample path must drop it
	Error  *string           `yaml:"error"`  // set: a validation case
}

func loadPromCases(t *testing.T) []PromCase {
	t.Helper()
	b, err := os.ReadFile("testdata/prometheus_cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []PromCase
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func toLabels(m map[string]string) scrape.Labels {
	var ls scrape.Labels
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ls = append(ls, scrape.Label{Name: k, Value: m[k]})
	}
	return ls
}

// TestPrometheusCases runs every case through YAML decoding, Validate, and
// both application paths: label sets (target relabeling) and samples
// through a cached Stage (metric and write relabeling), twice, so the
// second pass is served from the cache.
func TestPrometheusCases(t *testing.T) {
	cases := loadPromCases(t)
	if len(cases) != 43 {
		t.Fatalf("%d cases, want 43 (34 TestRelabel + 9 TestRelabelValidate)", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var rules []*Config
			err := c.Rules.Decode(&rules)
			if err == nil {
				err = Validate(rules)
			}
			if c.Error != nil {
				switch {
				case *c.Error == "" && err != nil:
					t.Fatalf("unexpected error: %v", err)
				case *c.Error != "" && (err == nil || !strings.Contains(err.Error(), *c.Error)):
					t.Fatalf("error %v, want one containing %q", err, *c.Error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, keep := Labels(toLabels(c.Input), rules)
			if keep == c.Drop {
				t.Fatalf("keep = %v, want %v", keep, !c.Drop)
			}
			if keep && !slices.Equal(got, toLabels(c.Output)) {
				t.Fatalf("labels:\n got %v\nwant %v", got, toLabels(c.Output))
			}
			checkSamplePath(t, c, rules)
		})
	}
}

func checkSamplePath(t *testing.T, c PromCase, rules []*Config) {
	t.Helper()
	in := maps.Clone(c.Input)
	if in["__name__"] == "" {
		in["__name__"] = "m"
	}
	smp := sampleOf(in, 1)
	st := NewStage(rules)
	for pass := range 2 {
		out, stats := st.Relabel([]scrape.Sample{smp})
		switch {
		case c.Drop:
			if len(out) != 0 || stats.Dropped != 1 {
				t.Fatalf("pass %d: out %v stats %+v, want dropped", pass, out, stats)
			}
		case c.Sample == "invalid":
			if len(out) != 0 || stats.Invalid != 1 {
				t.Fatalf("pass %d: out %v stats %+v, want invalid", pass, out, stats)
			}
		default:
			want := maps.Clone(c.Output)
			if _, ok := c.Input["__name__"]; !ok {
				want["__name__"] = "m"
			}
			w := sampleOf(want, 1)
			if len(out) != 1 || out[0].Name != w.Name || !out[0].Labels.Equal(w.Labels) || out[0].Hash != w.Hash {
				t.Fatalf("pass %d: got %v, want %s%v", pass, out, w.Name, w.Labels)
			}
		}
	}
}

// sampleOf builds a sample from a label map holding __name__.
func sampleOf(m map[string]string, v float64) scrape.Sample {
	m = maps.Clone(m)
	name := m["__name__"]
	delete(m, "__name__")
	ls := toLabels(m)
	return scrape.Sample{Name: name, Labels: scrape.SetOf(ls), Value: v, Hash: scrape.SeriesHash(name, ls)}
}
