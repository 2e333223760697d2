package relabel

import (
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	promrelabel "github.com/prometheus/prometheus/model/relabel"

	"github.com/promfwd/promfwd/scrape"
)

// Rewriter runs one list of rules on one series at a time, caching
// nothing: it is the scrape.SeriesRewriter a source's parser calls for the
// series lines its line cache does not know (the cache keeps the result),
// and a Stage's engine. Not safe for concurrent use.
type Rewriter struct {
	rules   []*Config
	lb      *labels.Builder
	scratch scrape.Labels // the result's labels, until the next call
}

var _ scrape.SeriesRewriter = (*Rewriter)(nil)

// NewRewriter returns a rewriter for rules, which must have passed
// Validate.
func NewRewriter(rules []*Config) *Rewriter {
	return &Rewriter{rules: rules, lb: labels.NewBuilder(labels.EmptyLabels())}
}

// RewriteSeries applies the rules to the series name{ls} as Prometheus
// applies metric_relabel_configs: __name__ is a label like any other. The
// result is RewriteDrop when a rule dropped it, RewriteInvalid when the
// rules left it without a name or with an invalid label name or value
// (never sent), else the new name and labels (sorted, in a buffer valid
// until the next call).
func (r *Rewriter) RewriteSeries(name string, ls scrape.Labels) (string, scrape.Labels, scrape.RewriteVerdict) {
	lb := r.lb
	lb.Reset(labels.EmptyLabels())
	lb.Set(model.MetricNameLabel, name)
	for _, l := range ls {
		lb.Set(l.Name, l.Value)
	}
	if !promrelabel.ProcessBuilder(lb, r.rules...) {
		return "", nil, scrape.RewriteDrop
	}
	out := lb.Get(model.MetricNameLabel)
	if out == "" {
		return "", nil, scrape.RewriteInvalid
	}
	res := r.scratch[:0]
	valid := true
	lb.Range(func(l labels.Label) {
		if l.Name == model.MetricNameLabel {
			return
		}
		if !validName(l.Name) || !utf8.ValidString(l.Value) {
			valid = false
		}
		res = append(res, scrape.Label{Name: l.Name, Value: l.Value})
	})
	r.scratch = res
	if !valid {
		return "", nil, scrape.RewriteInvalid
	}
	sortLabels(res)
	return out, res, scrape.RewriteKeep
}
