package config

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/promfwd/promfwd/forwarder/transform/relabel"
	"github.com/promfwd/promfwd/scrape"
)

// promCase is one case of Prometheus' relabel tests as transcribed in
// forwarder/transform/relabel/testdata/prometheus_cases.yaml.
type promCase struct {
	Name   string            `yaml:"name"`
	Input  map[string]string `yaml:"input"`
	Rules  yaml.Node         `yaml:"rules"`
	Output map[string]string `yaml:"output"`
	Drop   bool              `yaml:"drop"`
	Sample string            `yaml:"sample"`
	Error  *string           `yaml:"error"`
}

// TestPrometheusRelabelCasesThroughConfig pastes the rule block of every
// case of Prometheus' own relabel tests into a config file, unchanged, as
// a source's metric_relabel_configs and a sink's write_relabel_configs, and
// loads it the way promfwd does (strict YAML, environment expansion, which
// must leave the rules alone, validation); then runs the loaded rules on
// the case's labels. Every case must give Prometheus' result.
func TestPrometheusRelabelCasesThroughConfig(t *testing.T) {
	b, err := os.ReadFile("../transform/relabel/testdata/prometheus_cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []promCase
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cases); err != nil {
		t.Fatal(err)
	}
	noEnv := func(name string) (string, bool) {
		t.Errorf("the environment was asked for %q: relabel rules must not be expanded", name)
		return "", false
	}
	passed := 0
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			rules, err := yaml.Marshal(&c.Rules)
			if err != nil {
				t.Fatal(err)
			}
			block := "      " + strings.ReplaceAll(strings.TrimRight(string(rules), "\n"), "\n", "\n      ")
			samples := "sources:\n  - name: a\n    url: http://a:9100/metrics\n    metric_relabel_configs:\n" + block +
				"\nsinks:\n  - name: out\n    type: stdout\n    write_relabel_configs:\n" + block + "\n"
			// file_sd targets are relabeled when discovered, so any block loads.
			targets := "sources:\n  - name: a\n    file_sd_configs: [{files: [sd.json]}]\n    relabel_configs:\n" + block +
				"\nsinks:\n  - name: out\n    type: stdout\n"
			tcfg, terr := loadWith("targets.yaml", []byte(targets), noEnv, nil)
			cfg, err := loadWith("samples.yaml", []byte(samples), noEnv, nil)
			if c.Sample == "invalid" {
				// The rules leave samples without __name__: check refuses
				// them where they would run on samples.
				if err == nil || !strings.Contains(err.Error(), "removes __name__") {
					t.Fatalf("metric/write relabel load: %v, want the __name__ conflict", err)
				}
				cfg, err = tcfg, terr
			}
			if c.Error != nil {
				err = errors.Join(err, terr)
			}
			if c.Error != nil {
				switch {
				case *c.Error == "" && err != nil:
					t.Fatalf("unexpected error: %v\n%s", err, samples)
				case *c.Error != "" && (err == nil || !strings.Contains(err.Error(), *c.Error)):
					t.Fatalf("error %v, want one containing %q", err, *c.Error)
				}
				passed++
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, samples)
			}
			in := toScrapeLabels(c.Input)
			if terr != nil {
				t.Fatal(terr)
			}
			for _, loaded := range [][]*relabel.Config{cfg.Sources[0].MetricRelabelConfigs, cfg.Sinks[0].WriteRelabelConfigs, tcfg.Sources[0].RelabelConfigs} {
				if loaded == nil { // the labelkeep case: only as relabel_configs
					continue
				}
				got, keep := relabel.Labels(in, loaded)
				if keep == c.Drop {
					t.Fatalf("keep = %v, want %v", keep, !c.Drop)
				}
				if keep && !slices.Equal(got, toScrapeLabels(c.Output)) {
					t.Fatalf("got %v, want %v", got, toScrapeLabels(c.Output))
				}
			}
			passed++
		})
	}
	if passed != len(cases) || len(cases) != 43 {
		t.Errorf("%d of %d cases passed, want all 43", passed, len(cases))
	}
	t.Logf("%d Prometheus relabel cases passed through the config loader", passed)
}

func toScrapeLabels(m map[string]string) scrape.Labels {
	var ls scrape.Labels
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ls = append(ls, scrape.Label{Name: k, Value: m[k]})
	}
	return ls
}
