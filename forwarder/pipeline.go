package forwarder

import (
	"math"

	"github.com/promfwd/promfwd/forwarder/transform/relabel"
	"github.com/promfwd/promfwd/scrape"
)

// dropRelabelInvalid is the reason of promfwd_samples_dropped_total (and,
// per sink, sinks.DropRelabelInvalid) for samples the rules left without a
// metric name, with an invalid label name, or with the series of an
// earlier sample of the same scrape (merged series). Never sent. Stable:
// alerts match on it.
const dropRelabelInvalid = "relabel_invalid"

// pipe is a source's transform state between the scrape and the sinks, in
// DESIGN.md's data order: metric_relabel_configs, the scrape limits, the
// per-target series; then, per sink, write_relabel_configs (before the
// sink's dedupe and encoding). Used only by the source's job (and its
// goodbye, under the same lock), so it needs no lock.
type pipe struct {
	metric *relabel.Stage
	limits scrape.Limits
	report bool          // send up, scrape_duration_seconds, ... (target_series)
	tl     scrape.Labels // the target's labels, carried by those series
	// prev is the previous successful scrape's series after relabeling,
	// for scrape_series_added (the staleness tracker's set: no extra
	// memory); reported is what was last sent of the per-target series,
	// for their stale markers when the target goes.
	prev     *scrape.SeriesSet
	reported []scrape.Sample
	writes   map[*sinkState]*relabel.Stage
}

func newPipe(metricRules []*relabel.Config, limits scrape.Limits, report bool, tl scrape.Labels) *pipe {
	return &pipe{metric: relabel.NewStage(metricRules), limits: limits, report: report, tl: tl,
		writes: map[*sinkState]*relabel.Stage{}}
}

// metricRewriter is the target's rewriter for a source's
// metric_relabel_configs: text and OpenMetrics scrapes come out relabeled,
// the rules' verdict cached per series line (nil without rules).
func metricRewriter(rules []*relabel.Config) scrape.SeriesRewriter {
	if len(rules) == 0 {
		return nil
	}
	return relabel.NewRewriter(rules)
}

// afterScrape runs metric relabeling and the limits on a successful
// scrape's samples. Text and OpenMetrics samples were relabeled by the
// parser (the target's rewriter caches the rules' verdict per series
// line); protobuf ones go through the stage here. A *scrape.LimitError
// fails the scrape, as in Prometheus.
func (p *pipe) afterScrape(res *scrape.Result) ([]scrape.Sample, relabel.Stats, error) {
	out, st := res.Samples, relabel.Stats{Dropped: res.Rewrite.Dropped, Invalid: res.Rewrite.Invalid}
	if !res.Rewritten {
		out, st = p.metric.Relabel(res.Samples)
	}
	if err := scrape.CheckLimits(out, p.limits); err != nil {
		return nil, st, err
	}
	return out, st, nil
}

// seriesOf returns the series of samples, the result of afterScrape on
// res: the parser's set when samples are res's own (text answers, or no
// rules), else one built from them (reusing prev's when they match).
func seriesOf(samples []scrape.Sample, res *scrape.Result, prev *scrape.SeriesSet) *scrape.SeriesSet {
	if res.Series != nil && len(samples) == len(res.Samples) && (len(samples) == 0 || &samples[0] == &res.Samples[0]) {
		return res.Series
	}
	return prev.Next(samples)
}

// seriesAdded counts the series of cur that the previous successful scrape
// did not have, and remembers cur. A steady target repeats its series in
// order (usually the very same set), which one pass confirms.
func (p *pipe) seriesAdded(cur *scrape.SeriesSet) int {
	prev := p.prev
	p.prev = cur
	if prev.SameSeries(cur) {
		return 0
	}
	set := make(map[uint64]struct{}, prev.Len())
	for i := range prev.Len() {
		set[prev.Hash(i)] = struct{}{}
	}
	n := 0
	for i := range cur.Len() {
		if _, ok := set[cur.Hash(i)]; !ok {
			n++
			set[cur.Hash(i)] = struct{}{}
		}
	}
	return n
}

// reportSamples returns the per-target series for one scrape (nil when
// target_series is off).
func (p *pipe) reportSamples(r scrape.Report, tsMs int64) []scrape.Sample {
	if !p.report {
		return nil
	}
	p.reported = scrape.ReportSamples(p.tl, r, tsMs)
	return p.reported
}

// goodbye returns stale markers for the per-target series: the target was
// dropped or removed, so up and scrape_* must end now, not after the
// receiver's lookback.
func (p *pipe) goodbye(nowMs int64) []scrape.Sample {
	out := make([]scrape.Sample, len(p.reported))
	for i, s := range p.reported {
		s.Value = math.Float64frombits(scrape.StaleNaN)
		s.TimestampMs = nowMs
		out[i] = s
	}
	p.reported, p.prev = nil, nil
	return out
}

// forSink runs st's write_relabel_configs on samples (shared read-only
// between sinks). Each (source, sink) pair has its own stage: merged
// series are found within one scrape of one source.
func (p *pipe) forSink(st *sinkState, rules []*relabel.Config, samples []scrape.Sample) ([]scrape.Sample, relabel.Stats) {
	if len(rules) == 0 {
		return samples, relabel.Stats{}
	}
	ws := p.writes[st]
	if ws == nil {
		if len(p.writes) > 64 { // sinks replaced by reloads: forget the old ones
			clear(p.writes)
		}
		ws = relabel.NewStage(rules)
		p.writes[st] = ws
	}
	return ws.Relabel(samples)
}

// goodbye returns the stale markers of a source that is going away for good
// (a vanished or dropped file_sd target, a removed source): its series and
// its per-target series.
func (s *source) goodbye(nowMs int64) []scrape.Sample {
	return append(s.stale.Down(nowMs), s.pipe.goodbye(nowMs)...)
}
