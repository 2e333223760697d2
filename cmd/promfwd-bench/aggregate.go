package main

import (
	"fmt"
	"io"
	"strings"
)

// aggRules are the sink's aggregate rules in -aggregate runs: ten rules
// over the synthetic workload (counters by family digit, gauges, histogram
// buckets and their sums and counts), grouped by one 50-valued label, the
// matched input not forwarded. Together they match every series.
const aggRules = `    aggregate:
      - {match: '{__name__=~"bench_requests_[0-9]*[01]_total"}', interval: 10s, by: [l2], outputs: [total, increase]}
      - {match: '{__name__=~"bench_requests_[0-9]*[23]_total"}', interval: 10s, by: [l2], outputs: [total, increase]}
      - {match: '{__name__=~"bench_requests_[0-9]*[45]_total"}', interval: 10s, by: [l2], outputs: [total]}
      - {match: '{__name__=~"bench_requests_[0-9]*[67]_total"}', interval: 10s, by: [l2], outputs: [increase, rate_sum]}
      - {match: '{__name__=~"bench_requests_[0-9]*[89]_total"}', interval: 10s, without: [instance, series], outputs: [total]}
      - {match: '{__name__=~"bench_temperature_[0-9]*[0-4]"}', interval: 10s, by: [l2], outputs: [max, avg]}
      - {match: '{__name__=~"bench_temperature_[0-9]*[5-9]"}', interval: 10s, by: [l2], outputs: [min, last, count_series]}
      - {match: '{__name__=~"bench_latency_.*_bucket"}', interval: 10s, by: [l2], outputs: [increase]}
      - {match: '{__name__=~"bench_latency_.*_(sum|count)"}', interval: 10s, by: [l2], outputs: [total]}
      - {match: '{__name__=~"bench_temperature_.*", l3=~"value-3-[0-4]"}', interval: 10s, by: [l3], outputs: ["quantiles(0.5, 0.99)"], keep_input: true}
`

// aggRulesFew is aggRules with the near-unique rule grouped by l2 as well:
// every rule has at most 50 groups per input name, so the memory added per
// input series is the input side's cost (-agg-rules few).
var aggRulesFew = strings.Replace(aggRules, "without: [instance, series]", "by: [l2]", 1)

// aggRuleSets are the -agg-rules choices.
var aggRuleSets = map[string]string{"mixed": aggRules, "few": aggRulesFew}

// aggRuns is [false] normally, [false, true] with -aggregate.
func aggRuns(o options) []bool {
	if o.aggregate {
		return []bool{false, true}
	}
	return []bool{false}
}

// profilePath is path, or with -aggregate path.off and path.on, so that
// the two runs' heap profiles can be compared (go tool pprof -base).
func profilePath(path string, o options) string {
	switch {
	case !o.aggregate:
		return path
	case o.aggOn:
		return path + ".on"
	default:
		return path + ".off"
	}
}

// compareAggregate prints the cost of aggregation: CPU per million input
// (scraped) samples with and without the rules, and the memory difference
// per aggregated input series.
func compareAggregate(w io.Writer, off, on *result, o options) {
	if off == nil || on == nil || off.scraped == 0 || on.scraped == 0 {
		return
	}
	perM := func(r *result) float64 { return float64(r.cpu.Milliseconds()) / (r.scraped / 1e6) }
	inSeries := on.aggIn / (on.window.Seconds() / o.interval.Seconds()) // matched samples per scrape round
	fmt.Fprintf(w, "\n== aggregation cost (%s, -agg-rules %s)\n", on.sink, o.aggSet)
	fmt.Fprintf(w, "  CPU per 1M scraped     %10.0f ms off, %.0f ms on: %+.1f%%\n", perM(off), perM(on), 100*(perM(on)/perM(off)-1))
	fmt.Fprintf(w, "  input series matched   %10.0f; output series %.0f; samples delivered/s %.0f off, %.0f on\n",
		inSeries, on.aggOut, float64(off.recv.Samples)/off.window.Seconds(), float64(on.recv.Samples)/on.window.Seconds())
	if inSeries > 0 {
		fmt.Fprintf(w, "  RSS steady             %10.1f MiB off, %.1f MiB on: %+.0f bytes per input series (the sink's dedupe and queue shrink when fewer samples leave)\n",
			mib(off.rssSteady), mib(on.rssSteady), float64(on.rssSteady-off.rssSteady)/inSeries)
	}
	if on.aggDropped > 0 {
		fmt.Fprintf(w, "  aggregation dropped %.0f samples (promfwd_aggregate_samples_dropped_total)\n", on.aggDropped)
	}
}
