package forwarder

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/transform/relabel"
	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// errLogEvery rate-limits the log line of a source that keeps failing: the
// first failure and the recovery are always logged.
const errLogEvery = time.Minute

// scrapeOnce is one run of a source's job: fetch and parse (or reuse a
// fresh cached answer), filter, track staleness, and hand the samples to
// every routed sink. It never blocks on a sink.
func (f *Forwarder) scrapeOnce(ctx context.Context, src *source) {
	src.adoptStale() // reload_source.go: a replaced source's series
	now := f.clock.Now()
	nowMs := now.UnixMilli()
	var res scrape.Result
	cached := false
	if src.takeFreshnessReset() {
		src.freshUntil = time.Time{}
	}
	if src.last != nil && now.Before(src.freshUntil) {
		// The upstream said its answer stays valid (Cache-Control:
		// max-age); don't ask again, but let dedupe see the values so its
		// heartbeat still fires.
		res = scrape.Result{Source: src.name, Start: now, Unchanged: true, Samples: restamp(src.last, nowMs),
			Rewritten: src.lastRwDone, Rewrite: src.lastRw}
		cached = true
	} else {
		res = src.target.Scrape(ctx, now)
		f.sm.scrapes.WithLabelValues(src.name).Inc()
		f.sm.duration.WithLabelValues(src.name).Observe(res.Duration.Seconds())
		f.sm.bytes.WithLabelValues(src.name).Add(float64(res.Bytes))
	}
	batch := res.Batch
	defer batch.Release() // batchref.go: the job's own reference; each sink's part holds another
	if res.Err != nil {
		if ctx.Err() != nil {
			return // shutting down mid-scrape: not a target failure
		}
		f.scrapeFailed(ctx, src, res, nowMs)
		src.observe(now, res, false) // status_feed.go
		return
	}
	// pipeline.go: metric_relabel_configs, then the limits, which fail the
	// scrape as in Prometheus.
	samples, rs, err := src.pipe.afterScrape(&res)
	f.countRelabel(src.name, "", rs)
	if err != nil {
		res.Err = fmt.Errorf("scrape %s (%s): %w", src.name, res.URL, err)
		f.scrapeFailed(ctx, src, res, nowMs)
		src.observe(now, res, false) // status_feed.go
		return
	}
	if src.failing {
		src.failing = false
		src.log.Info("scrape recovered", zap.String("url", res.URL))
	}
	f.sm.up.WithLabelValues(src.name).Set(1)
	f.sm.countDropped(src.name, res.Dropped)
	if res.MaxAge > 0 {
		src.freshUntil = now.Add(src.freshFor(res.MaxAge))
	}
	src.observe(now, res, cached) // status_feed.go
	var markers []scrape.Sample
	added := 0
	if res.Unchanged {
		f.sm.unchanged.WithLabelValues(src.name).Inc()
	} else {
		// Series identities, not the samples: the batch is freed once
		// every sink has encoded it.
		set := seriesOf(samples, &res, src.stale.Last())
		markers = src.stale.ObserveSeries(set, nowMs)
		added = src.pipe.seriesAdded(set)
	}
	// Relabeled by the parser (text), or not yet (protobuf): a max-age
	// reuse goes through afterScrape as this scrape did. Kept only while
	// the target's max-age can bring that reuse about.
	src.last, src.lastRw, src.lastRwDone = nil, res.Rewrite, res.Rewritten
	if now.Before(src.freshUntil) {
		src.last = slices.Clip(res.Samples) // appendExtras writes past its end
		batch.Pin()                         // kept beyond any reference: never reused
	}
	f.sm.samples.WithLabelValues(src.name).Add(float64(len(samples)))
	f.sm.lastSamples.WithLabelValues(src.name).Set(float64(len(samples)))
	if len(markers) > 0 {
		f.sm.staleMarkers.WithLabelValues(src.name).Add(float64(len(markers)))
	}
	rep := src.pipe.reportSamples(scrape.Report{Up: true, Duration: res.Duration, Scraped: res.Scraped(),
		PostRelabel: len(samples), SeriesAdded: added}, nowMs)
	samples = appendExtras(samples, markers, rep)
	f.deliverBatch(src, src.routes(), samples, batch) // batchref.go
	settle(ctx, src.routes())                         // durable_intake.go: on disk before the job ends
}

// appendExtras appends a scrape's stale markers and per-target series to
// its samples. The parser leaves room after a steady scrape's samples
// (scrape.Parser: n/16+16), so this is normally in place: no second copy of
// the batch per scrape. It is safe because the batch is this scrape's own:
// whoever keeps it past the scrape (the target for a 304, the source for a
// max-age reuse) keeps it clipped to its samples and copies before use, so
// nothing else ever appends into the same array.
func appendExtras(samples, markers, rep []scrape.Sample) []scrape.Sample {
	return append(append(samples, markers...), rep...)
}

func (f *Forwarder) scrapeFailed(ctx context.Context, src *source, res scrape.Result, nowMs int64) {
	reason := errorReason(res.Err)
	f.sm.errors.WithLabelValues(src.name, reason).Inc()
	f.sm.up.WithLabelValues(src.name).Set(0)
	now := f.clock.Now()
	if !src.failing || now.Sub(src.lastErrLog) >= errLogEvery {
		src.log.Warn("scrape failed", zap.String("url", res.URL), zap.String("reason", reason), zap.Error(res.Err))
		src.lastErrLog = now
	}
	src.failing = true
	src.last = nil
	src.freshUntil = time.Time{}
	markers := src.stale.Down(nowMs)
	if len(markers) > 0 {
		f.sm.staleMarkers.WithLabelValues(src.name).Add(float64(len(markers)))
	}
	// up is 0; the scraped series end (their stale markers), up and
	// scrape_* go on, as in Prometheus.
	samples := append(markers, src.pipe.reportSamples(scrape.Report{Duration: res.Duration}, nowMs)...)
	if len(samples) > 0 {
		f.deliver(src, samples)
		settle(ctx, src.routes())
	}
}

// deliver fans samples out to the source's sinks through each sink's
// write_relabel_configs and dedupe. Submit never blocks, so one slow sink
// cannot stall scraping or the others. The slice is shared read-only
// between sinks.
func (f *Forwarder) deliver(src *source, samples []scrape.Sample) {
	f.deliverTo(src, src.routes(), samples)
}

// deliverBatch is deliverTo for samples read from a pooled batch: every
// part a sink's runner takes holds its own reference (batchref.go).
func (f *Forwarder) deliverBatch(src *source, routes []*sinkState, samples []scrape.Sample, batch *scrape.BatchRef) {
	for _, st := range routes {
		out, ws := src.pipe.forSink(st, st.cfg.WriteRelabelConfigs, samples)
		f.countRelabel(src.name, st.name, ws)
		offered, skipped := st.admitBatch(out, batch) // durable.go: stages, dedupe, then Submit
		if skipped > 0 {
			f.sm.skippedUnchanged.WithLabelValues(src.name, st.name).Add(float64(skipped))
		}
		f.feed.counted(st.name, offered, skipped) // status_feed.go
	}
}

// countRelabel records what a relabel stage removed: for a source's
// metric_relabel_configs (sink "") the samples its rules dropped
// (promfwd_source_samples_filtered_total) and the invalid or merged ones
// (promfwd_samples_dropped_total{reason="relabel_invalid"}); for a sink's
// write_relabel_configs the samples its rules dropped
// (promfwd_sink_samples_filtered_total{source,sink}: as configured, not
// lost) and the invalid or merged ones, per sink
// (promfwd_sink_dropped_samples_total{reason="relabel_invalid"}).
func (f *Forwarder) countRelabel(source, sink string, rs relabel.Stats) {
	switch {
	case sink == "":
		if rs.Dropped > 0 {
			f.sm.filtered.WithLabelValues(source).Add(float64(rs.Dropped))
		}
		if rs.Invalid > 0 {
			f.sm.dropped.WithLabelValues(source, dropRelabelInvalid).Add(float64(rs.Invalid))
		}
		return
	}
	if rs.Dropped > 0 {
		f.sm.sinkFiltered.WithLabelValues(source, sink).Add(float64(rs.Dropped))
	}
	if rs.Invalid > 0 {
		f.skm.CountDropped(sink, sinks.DropRelabelInvalid, rs.Invalid)
	}
}
