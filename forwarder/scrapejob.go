package forwarder

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/scrape"
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
		res = scrape.Result{Source: src.name, Start: now, Unchanged: true, Samples: restamp(src.last, nowMs)}
		cached = true
	} else {
		res = src.target.Scrape(ctx, now)
		f.sm.scrapes.WithLabelValues(src.name).Inc()
		f.sm.duration.WithLabelValues(src.name).Observe(res.Duration.Seconds())
		f.sm.bytes.WithLabelValues(src.name).Add(float64(res.Bytes))
	}
	if res.Err != nil {
		if ctx.Err() != nil {
			return // shutting down mid-scrape: not a target failure
		}
		f.scrapeFailed(src, res, nowMs)
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

	samples, filtered := src.keep.apply(res.Samples)
	if filtered > 0 {
		f.sm.filtered.WithLabelValues(src.name).Add(float64(filtered))
	}
	var markers []scrape.Sample
	if res.Unchanged {
		f.sm.unchanged.WithLabelValues(src.name).Inc()
	} else {
		markers = src.stale.Observe(samples, nowMs)
	}
	src.last = samples
	f.sm.samples.WithLabelValues(src.name).Add(float64(len(samples)))
	f.sm.lastSamples.WithLabelValues(src.name).Set(float64(len(samples)))
	if len(markers) > 0 {
		f.sm.staleMarkers.WithLabelValues(src.name).Add(float64(len(markers)))
		all := make([]scrape.Sample, 0, len(samples)+len(markers))
		samples = append(append(all, samples...), markers...)
	}
	f.deliver(src, samples)
}

func (f *Forwarder) scrapeFailed(src *source, res scrape.Result, nowMs int64) {
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
	if markers := src.stale.Down(nowMs); len(markers) > 0 {
		f.sm.staleMarkers.WithLabelValues(src.name).Add(float64(len(markers)))
		f.deliver(src, markers)
	}
}

// deliver fans samples out to the source's sinks through each sink's dedupe.
// Submit never blocks, so one slow sink cannot stall scraping or the others.
// The slice is shared read-only between sinks.
func (f *Forwarder) deliver(src *source, samples []scrape.Sample) {
	for _, st := range src.routes() {
		skipped := st.admit(samples) // durable.go: dedupe, then Submit
		if skipped > 0 {
			f.sm.skippedUnchanged.WithLabelValues(src.name, st.name).Add(float64(skipped))
		}
		f.feed.counted(st.name, len(samples), skipped) // status_feed.go
	}
}
