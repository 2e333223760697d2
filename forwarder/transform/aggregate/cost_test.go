package aggregate_test

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/transform/aggregate"
	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/datadog"
)

// scalrScrape is a Scalr-like exposition: 20 environments x 50 workspaces
// x 20 runs, each run with a duration, a runs gauge by status and a
// resources-changed counter.
func scalrScrape(tsMs int64, step int) []scrape.Sample {
	var out []scrape.Sample
	gauge := &scrape.Meta{Family: "scalr_run_duration_seconds", Type: scrape.TypeGauge}
	runs := &scrape.Meta{Family: "scalr_runs_count", Type: scrape.TypeGauge}
	ctr := &scrape.Meta{Family: "scalr_run_resources_changed", Type: scrape.TypeCounter}
	statuses := []string{"applied", "errored", "planned"}
	add := func(name string, meta *scrape.Meta, kind scrape.Kind, v float64, ls scrape.Labels) {
		out = append(out, scrape.Sample{Name: name, Labels: scrape.SetOf(ls), Value: v, TimestampMs: tsMs, Kind: kind, Meta: meta, ExplicitTS: true,
			Hash: scrape.SeriesHash(name, ls)})
	}
	for e := range 20 {
		for w := range 50 {
			for r := range 20 {
				ls := scrape.Labels{{Name: "environment", Value: fmt.Sprintf("env-%d", e)}, {Name: "run_id", Value: fmt.Sprintf("run-%d-%d-%d", e, w, r)},
					{Name: "status", Value: statuses[(w+r)%3]}, {Name: "workspace", Value: fmt.Sprintf("ws-%d-%d", e, w)}}
				add("scalr_run_duration_seconds", gauge, scrape.KindGauge, float64(30+(e*w+r+step)%600), ls)
				add("scalr_runs_count", runs, scrape.KindGauge, 1, ls)
				add("scalr_run_resources_changed_total", ctr, scrape.KindCounter, float64((w+r)*(step+1)), ls)
			}
		}
	}
	return out
}

// datadogBytes is the compressed request bytes and series count the
// Datadog sink encodes for samples.
func datadogBytes(t *testing.T, s *datadog.Sink, samples []scrape.Sample) (bytes, series int) {
	t.Helper()
	enc, err := s.Encode(samples)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range enc.Requests {
		bytes += len(r.Body)
		series += r.Samples
	}
	return bytes, series
}

func newDatadog(t *testing.T) *datadog.Sink {
	cfg := datadog.DefaultConfig()
	cfg.URL, cfg.APIKey, cfg.Host = "http://127.0.0.1:1", "k", "h"
	s, err := datadog.New(cfg, sinks.Settings{Name: "dd", Logger: zap.NewNop(), UserAgent: "t", Health: sinks.NewHealth(time.Now)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestScalrCostEffect: a Scalr-like account (60k series) aggregated without
// its two high-cardinality labels (workspace, run_id) into the Datadog
// sink. It reports series in vs out and Datadog request bytes per minute
// before vs after, and checks the reduction is what grouping promises.
func TestScalrCostEffect(t *testing.T) {
	rules := []aggregate.Rule{
		{Match: `{__name__=~"scalr_run_duration_seconds|scalr_runs_count"}`, Interval: time.Minute, Without: []string{"workspace", "run_id"},
			Outputs: []string{"sum", "max", "count_series"}},
		{Match: `scalr_run_resources_changed_total`, Interval: time.Minute, Without: []string{"workspace", "run_id"}, Outputs: []string{"total"}},
	}
	a, err := aggregate.New(rules, aggregate.Options{MaxLateness: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Minute)
	t0 := now.Add(-5 * time.Minute).UnixMilli()
	raw, agg := newDatadog(t), newDatadog(t)
	var rawBytes, rawSeries, aggBytes, aggSeries, in int
	for step := range 4 { // one scrape a minute; the Datadog counter baselines need the first
		ts := t0 + int64(step)*60_000 + 1000
		scr := scalrScrape(ts, step)
		in = len(scr)
		rb, rs := datadogBytes(t, raw, scr)
		out := a.Apply(scr, ts+61_000) // the window before this scrape's is due
		ab, as := datadogBytes(t, agg, out)
		if step >= 2 { // steady state: both counters have a baseline
			rawBytes, rawSeries, aggBytes, aggSeries = rb, rs, ab, as
		}
	}
	t.Logf("Scalr-like: %d series in; per minute Datadog gets %d series in %d bytes raw, %d series in %d bytes aggregated (%.0fx fewer series, %.0fx fewer bytes)",
		in, rawSeries, rawBytes, aggSeries, aggBytes, float64(rawSeries)/float64(aggSeries), float64(rawBytes)/float64(aggBytes))
	// 20 environments x 3 statuses = 60 groups per metric: 2 x 60 x 3 + 60 x 1.
	if aggSeries != 2*60*3+60 || rawSeries != in || aggBytes*50 > rawBytes {
		t.Errorf("series %d raw, %d aggregated (want 420); bytes %d raw, %d aggregated", rawSeries, aggSeries, rawBytes, aggBytes)
	}
}
