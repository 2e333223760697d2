package datadog

import (
	"math"
	"strconv"
	"time"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/jsonw"
)

// Datadog series types.
const (
	typeCount = 1
	typeGauge = 3
)

// Point timestamps must be at most 10 minutes ahead and 1 hour behind the
// intake's clock. A request may wait in the queue before it is sent, so
// points older than maxPointAge at encoding time are dropped rather than
// risking the whole request being rejected.
const (
	maxPointAhead = 10 * time.Minute
	maxPointAge   = 55 * time.Minute
)

// nameCacheMax bounds the escaped-name cache; it is cleared when full.
const nameCacheMax = 1 << 16

// boundCacheMax bounds the formatted-bound cache; it is cleared when full.
const boundCacheMax = 1 << 12

type nameKey struct {
	name string
	kind scrape.Kind
}

// encoder holds the buffers reused by Encode (one goroutine at a time).
type encoder struct {
	buf    []byte // series JSON objects, each followed by ','
	ends   []int  // end offset in buf (after the ',') of each series
	units  []unit // groups that must travel together
	names  map[nameKey]string
	bounds map[string]string // le / quantile label value -> tag value
	comp   *compressor
	ls     scrape.Labels // the current sample's labels, read once
	tag    []byte        // scratch for one normalized tag
	tagSum uint64        // sum of the hashes of the series' tags so far
	groups []group       // the batch's groups and their lanes
	coll   collisions    // series made identical by the tag rules, per batch
}

// unit is a run of series [from, to) that must share one request.
type unit struct{ from, to int }

// Encode maps samples to Datadog series and packs them into requests within
// the intake's limits. It never splits a histogram or summary group unless
// the group alone exceeds a limit. Counter deltas are computed here, so the
// delta state advances at encoding time (see SnapshotState).
func (s *Sink) Encode(samples []scrape.Sample) (sinks.Encoded, error) {
	e := &s.enc
	now := s.clock.Now()
	var out sinks.Encoded
	lanes := max(int(s.lanes.Load()), 1)

	// A group goes to the lane of its first series, so every point of a
	// series travels in one lane, in order: two requests carrying deltas
	// of one counter are never sent at the same time.
	e.groups = e.groups[:0]
	for i := 0; i < len(samples); {
		j := scrape.GroupEnd(samples, i)
		h := samples[i].Hash
		if h == 0 {
			h = samples[i].Labels.SeriesHash(samples[i].Name)
		}
		e.groups = append(e.groups, group{from: i, to: j, lane: uint32(h % uint64(lanes))})
		i = j
	}
	e.coll.reset()
	for lane := range lanes {
		e.buf, e.ends, e.units = e.buf[:0], e.ends[:0], e.units[:0]
		s.deltas.mu.Lock()
		s.deltas.sweep(now)
		for _, g := range e.groups {
			if g.lane != uint32(lane) {
				continue
			}
			from := len(e.ends)
			hasCount := g.to-g.from > 1 && groupHasCount(samples[g.from:g.to])
			for k := g.from; k < g.to; k++ {
				if !s.encodeSample(&samples[k], now, hasCount) {
					out.Dropped++
				}
			}
			if to := len(e.ends); to > from {
				e.units = append(e.units, unit{from, to})
			}
		}
		s.deltas.mu.Unlock()
		first := len(out.Requests)
		reqs, dropped, err := s.pack()
		if err != nil {
			return sinks.Encoded{}, err
		}
		out.Requests = append(out.Requests, reqs...)
		for i := first; i < len(out.Requests); i++ {
			out.Requests[i].Shard = uint32(lane)
		}
		out.Dropped += dropped
	}
	out.TagCollisions = e.coll.dropped
	s.logCollisions()
	return out, nil
}

// group is one histogram/summary group (or a lone series) of a batch and
// the lane its requests go to.
type group struct {
	from, to int
	lane     uint32
}

// Lanes implements sinks.Laner: the sink spreads series over exactly
// concurrency lanes, by series hash (see Encode).
func (s *Sink) Lanes(concurrency int) int {
	s.lanes.Store(int32(max(concurrency, 1)))
	return concurrency
}

func groupHasCount(g []scrape.Sample) bool {
	for i := range g {
		if g[i].Kind == scrape.KindHistogramCount {
			return true
		}
	}
	return false
}

// encodeSample appends zero or one series for smp. It returns false when
// the sample is dropped as unrepresentable (NaN/Inf, no valid name, a
// timestamp outside the intake's window); a sample that only advances the
// counter state, or a stale marker, is not a drop.
func (s *Sink) encodeSample(smp *scrape.Sample, now time.Time, groupHasCount bool) bool {
	v := smp.Value
	h := smp.Hash
	if h == 0 {
		h = smp.Labels.SeriesHash(smp.Name)
	}
	delta := s.cfg.SendCountersAs == CountersAsDelta && smp.Kind.IsCumulative() &&
		(smp.Meta == nil || smp.Meta.Type != scrape.TypeGaugeHistogram)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		if scrape.IsStaleNaN(v) {
			if delta {
				s.deltas.forget(h)
			}
			return true
		}
		return false
	}
	var le string
	if smp.Kind == scrape.KindHistogramBucket {
		le = smp.Labels.Get("le")
		if groupHasCount && s.enc.bound(le) == "none" {
			// Same value as _count, which carries upper_bound:none.
			return true
		}
	}
	name := s.metricName(smp)
	if name == "" {
		return false
	}
	typ, interval := typeGauge, int64(0)
	if delta {
		d, spacingMs, ok := s.deltas.observe(h, v, smp.TimestampMs, now)
		if !ok {
			return true
		}
		typ, v = typeCount, d
		interval = (spacingMs + 500) / 1000
		if interval <= 0 {
			interval = int64(s.cfg.Interval / time.Second)
		}
	}
	if smp.Kind == scrape.KindDelta { // an aggregation's interval count: already a delta
		typ, interval = typeCount, int64(s.cfg.Interval/time.Second)
		if smp.Meta != nil && smp.Meta.WindowSec > 0 {
			interval = smp.Meta.WindowSec
		}
	}
	ts := time.UnixMilli(smp.TimestampMs)
	if ts.After(now.Add(maxPointAhead)) || ts.Before(now.Add(-maxPointAge)) {
		return false
	}

	e := &s.enc
	b := e.buf
	start := len(b)
	b = append(b, `{"metric":`...)
	b = jsonw.AppendString(b, name)
	b = append(b, `,"type":`...)
	b = strconv.AppendInt(b, int64(typ), 10)
	b = append(b, `,"points":[{"timestamp":`...)
	b = strconv.AppendInt(b, smp.TimestampMs/1000, 10)
	b = append(b, `,"value":`...)
	b = jsonw.AppendFloat(b, v)
	b = append(b, `}],"resources":`...)
	b = append(b, s.resourcesJSON...)
	b = append(b, `,"tags":[`...)
	e.tagSum = s.staticTagsSum
	b = append(b, s.staticTagsJSON...)
	first := len(s.staticTagsJSON) == 0
	e.ls = smp.Labels.AppendTo(e.ls[:0])
	for _, l := range e.ls {
		val := l.Value
		switch {
		case smp.Kind == scrape.KindHistogramBucket && l.Name == "le":
			continue // becomes upper_bound below
		case smp.Kind == scrape.KindSummaryQuantile && l.Name == "quantile":
			val = s.enc.bound(val)
		}
		b = e.appendTag(b, first, l.Name, val)
		first = false
	}
	switch {
	case smp.Kind == scrape.KindHistogramBucket:
		b = e.appendTag(b, first, "upper_bound", e.bound(le))
	case smp.Kind == scrape.KindHistogramCount:
		b = e.appendTag(b, first, "upper_bound", "none")
	}
	if !e.coll.check(name, e.tagSum, h) {
		e.coll.dropped++
		e.coll.last, e.coll.lastAs = smp, name
		e.buf = b[:start]
		return true // counted as a tag collision, not as unrepresentable
	}
	b = append(b, ']')
	if interval > 0 {
		b = append(b, `,"interval":`...)
		b = strconv.AppendInt(b, interval, 10)
	}
	b = append(b, '}', ',')
	e.buf = b
	e.ends = append(e.ends, len(b))
	return true
}

// bound is formatBound, cached: a batch repeats few bucket bounds.
func (e *encoder) bound(v string) string {
	if f, ok := e.bounds[v]; ok {
		return f
	}
	f := formatBound(v)
	if len(e.bounds) >= boundCacheMax {
		clear(e.bounds)
	}
	e.bounds[v] = f
	return f
}

// metricName is the escaped, namespaced name a sample is sent under;
// cached because a batch repeats few names many times.
func (s *Sink) metricName(smp *scrape.Sample) string {
	e := &s.enc
	k := nameKey{smp.Name, smp.Kind}
	if n, ok := e.names[k]; ok {
		return n
	}
	n := baseName(smp)
	if s.cfg.Namespace != "" {
		n = s.cfg.Namespace + "." + n
	}
	n = escapeName(n)
	if len(e.names) >= nameCacheMax {
		clear(e.names)
	}
	e.names[k] = n
	return n
}
