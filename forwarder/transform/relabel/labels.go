package relabel

import (
	"github.com/prometheus/prometheus/model/labels"
	promrelabel "github.com/prometheus/prometheus/model/relabel"

	"github.com/promfwd/promfwd/scrape"
)

// Labels applies rules to one label set (__name__, when present, is a label
// like any other) and returns the result sorted, or keep=false when a rule
// dropped it. Target relabeling (relabel_configs) uses it; samples go
// through a Stage, which caches.
func Labels(in scrape.Labels, rules []*Config) (out scrape.Labels, keep bool) {
	b := labels.NewScratchBuilder(len(in))
	for _, l := range in {
		b.Add(l.Name, l.Value)
	}
	b.Sort()
	lb := labels.NewBuilder(b.Labels())
	if !promrelabel.ProcessBuilder(lb, rules...) {
		return nil, false
	}
	lb.Range(func(l labels.Label) {
		out = append(out, scrape.Label{Name: l.Name, Value: l.Value})
	})
	sortLabels(out)
	return out, true
}
