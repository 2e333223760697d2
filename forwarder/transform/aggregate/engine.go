// Package aggregate is promfwd's stream aggregation: a transform.Stage per
// sink that folds the samples matching each rule into wall-clock windows
// and emits one series per group and output at each window's end, as
// vmagent's stream aggregation does (same rule keys and output names), but
// by the samples' own timestamps, with counter baselines and open windows
// that survive a restart (Snapshot/Restore ride in the sink's checkpoint).
//
// A window [S, S+interval) takes the samples whose timestamp falls in it,
// until S+interval+max_lateness; it is flushed at the first Apply (a scrape
// or the forwarder's tick) at or after that time, and its outputs carry the
// timestamp S+interval. A later sample for it is dropped and counted
// (too_old), never folded into another window.
//
// Counters (total, increase, rate_sum, rate_avg): the first sample of a series never
// seen is its baseline (adds 0); each later sample adds its increase over
// the series' previous sample, or its whole value after a reset (a
// decrease), also across windows and gaps. total is the running sum of the
// group's increases.
package aggregate

import (
	"math"
	"slices"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// Observer receives the per-rule self-metrics; rule is the rule's index in
// the sink's list.
type Observer interface {
	Input(rule, n int)
	Dropped(rule int, reason string, n int)
	OutputSeries(rule, n int)
	Flushed(rule int, d time.Duration)
}

// Drop reasons (promfwd_aggregate_samples_dropped_total{reason}).
const (
	ReasonTooOld          = "too_old"           // the sample's window was already flushed
	ReasonOutOfOrder      = "out_of_order"      // not newer than the series' previous sample (counters)
	ReasonMaxOutputSeries = "max_output_series" // a new group beyond max_output_series
	ReasonSummaryQuantile = "summary_quantile"  // a summary quantile kept out of adding outputs
)

type nopObserver struct{}

func (nopObserver) Input(int, int)             {}
func (nopObserver) Dropped(int, string, int)   {}
func (nopObserver) OutputSeries(int, int)      {}
func (nopObserver) Flushed(int, time.Duration) {}

// Options configure an Aggregator.
type Options struct {
	// MaxLateness is the default of rules that set none (the sink's
	// longest source interval).
	MaxLateness time.Duration
	Observer    Observer
	// Warn logs a rule's problem (max_output_series reached) at most once a
	// minute per rule.
	Warn func(rule int, msg string)
	// SeriesTTL forgets an input series (its counter baseline) and a group
	// (its total) without a sample for this long (by sample timestamp: its
	// newest window ended this long ago); default max(1h, 10 intervals).
	SeriesTTL time.Duration
}

// Aggregator is the Stage of one sink's rules.
type Aggregator struct {
	rules []*ruleState
	obs   Observer
	warn  func(int, string)
	// names memoizes, per sample name, the rules whose __name__ matchers
	// accept it (bit i: rule i; rules beyond 64 are always asked).
	names map[string]nameRules
}

// nameRules are the rules a sample name can match: on its own, and as a
// histogram's _sum or _count through its family's _bucket name.
type nameRules struct{ own, bucket uint64 }

// New compiles rules (checked by config already).
func New(rules []Rule, o Options) (*Aggregator, error) {
	a := &Aggregator{obs: o.Observer, warn: o.Warn, names: map[string]nameRules{}}
	if a.obs == nil {
		a.obs = nopObserver{}
	}
	if a.warn == nil {
		a.warn = func(int, string) {}
	}
	for i, r := range rules {
		c, err := compile(r)
		if err != nil {
			return nil, err
		}
		lat := r.MaxLateness
		if lat == 0 {
			lat = o.MaxLateness
		}
		ttl := o.SeriesTTL
		if ttl == 0 {
			ttl = max(time.Hour, 10*r.Interval)
		}
		a.rules = append(a.rules, newRuleState(i, c, lat.Milliseconds(), ttl.Milliseconds()))
	}
	return a, nil
}

// Apply folds the matching samples into their windows, returns the rest
// (and the matched ones for keep_input rules) followed by the outputs of
// every window due at nowMs. It never writes into in.
func (a *Aggregator) Apply(in []scrape.Sample, nowMs int64) []scrape.Sample {
	var out []scrape.Sample // nil while everything passes
	for i := range in {
		s := &in[i]
		consumed := false
		nr := a.nameRules(s.Name)
		mask, hist := nr.own, histSibling(s)
		if hist {
			mask |= nr.bucket
		}
		for k, r := range a.rules {
			if k < 64 && mask&(1<<k) == 0 {
				continue
			}
			if r.add(a, s, hist, nowMs) && !r.c.KeepInput {
				consumed = true
			}
		}
		if consumed {
			if out == nil {
				out = make([]scrape.Sample, i, i+64)
				copy(out, in[:i])
			}
			continue
		}
		if out != nil {
			out = append(out, *s)
		}
	}
	if out == nil {
		out = in
	}
	copied := len(out) > 0 && len(in) > 0 && &out[0] == &in[0]
	for _, r := range a.rules {
		if r.due(nowMs) {
			if copied {
				out = slices.Clone(out)
				copied = false
			}
			out = r.flush(a, out, nowMs)
		}
	}
	return out
}

// FlushAll emits every open window regardless of lateness (shutdown
// without a checkpoint to save them in).
func (a *Aggregator) FlushAll() []scrape.Sample {
	var out []scrape.Sample
	for _, r := range a.rules {
		out = r.flush(a, out, math.MaxInt64)
	}
	return out
}
