package aggregate

import (
	"math"
	"slices"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// due reports whether a window is ready to flush at nowMs.
func (r *ruleState) due(nowMs int64) bool {
	for ws := range r.windows {
		if ws+r.ivl+r.lateness <= nowMs {
			return true
		}
	}
	if r.lastSweep == 0 {
		r.lastSweep = nowMs
	}
	return nowMs-r.lastSweep >= r.ttl/4 && len(r.series) > 0
}

// flush appends the outputs of every window due at nowMs, oldest first,
// and forgets series and groups unseen for the TTL.
func (r *ruleState) flush(a *Aggregator, out []scrape.Sample, nowMs int64) []scrape.Sample {
	start := time.Now()
	var due []int64
	for ws := range r.windows {
		if nowMs == math.MaxInt64 || ws+r.ivl+r.lateness <= nowMs {
			due = append(due, ws)
		}
	}
	slices.Sort(due)
	for _, ws := range due {
		out = r.emit(r.windows[ws], out)
		if r.lastWin == r.windows[ws] {
			r.lastWin = nil
		}
		delete(r.windows, ws)
		r.flushedTo = max(r.flushedTo, ws+r.ivl)
	}
	if len(due) > 0 {
		a.obs.Flushed(r.idx, time.Since(start))
	}
	if nowMs != math.MaxInt64 && nowMs-r.lastSweep >= r.ttl/4 {
		r.lastSweep = nowMs
		r.sweep(a, nowMs-r.ttl)
	}
	return out
}

// emit appends one window's outputs, groups in creation order.
func (r *ruleState) emit(w *window, out []scrape.Sample) []scrape.Sample {
	end := w.start + r.ivl
	for gi, ac := range w.accs {
		g := r.groups[gi]
		if ac == nil || g == nil {
			continue
		}
		if ac.counted {
			g.total += ac.increase
		}
		r.ensureOuts(g)
		k := 0
		for _, o := range r.c.outs {
			if o.kind == outQuantiles {
				slices.Sort(ac.vals)
				for _, phi := range o.phis {
					out = append(out, g.sample(k, quantile(phi, ac.vals), end, scrape.KindGauge))
					k++
				}
				continue
			}
			v, kind, ok := value(o.kind, ac, g)
			if ok {
				out = append(out, g.sample(k, v, end, kind))
			}
			k++
		}
	}
	return out
}

// value is one output of a window's accumulator.
func value(k outKind, ac *acc, g *group) (float64, scrape.Kind, bool) {
	switch k {
	case outTotal:
		return g.total, scrape.KindCounter, ac.counted
	case outIncrease:
		return ac.increase, scrape.KindDelta, ac.counted
	case outRateSum:
		return ac.rate, scrape.KindGauge, ac.counted
	case outSumSamples:
		return ac.sum, scrape.KindGauge, true
	case outCountSamples:
		return float64(ac.count), scrape.KindDelta, true
	case outCountSeries:
		return float64(ac.series), scrape.KindDelta, true
	case outMin:
		return ac.min, scrape.KindGauge, true
	case outMax:
		return ac.max, scrape.KindGauge, true
	case outAvg:
		return ac.sum / float64(ac.count), scrape.KindGauge, true
	default: // outLast
		return ac.last, scrape.KindGauge, true
	}
}

func (g *group) sample(k int, v float64, ts int64, kind scrape.Kind) scrape.Sample {
	o := &g.outs[k]
	return scrape.Sample{Name: o.meta.Family, Labels: o.ls, Value: v, TimestampMs: ts, Kind: kind,
		ExplicitTS: true, Meta: o.meta, Hash: o.hash}
}

// ensureOuts builds the group's output identities once. Names and Metas
// are shared by the groups of one input name (one per output, not per
// output series).
func (r *ruleState) ensureOuts(g *group) {
	if g.outs != nil {
		return
	}
	metas := r.metas[g.name]
	if metas == nil {
		for i, o := range r.c.outs {
			name := r.c.outName(g.name, i)
			typ := scrape.TypeGauge
			if o.kind == outTotal {
				typ = scrape.TypeCounter
			}
			metas = append(metas, &scrape.Meta{Family: name, Type: typ, WindowSec: r.ivl / 1000})
		}
		if len(r.metas) > 1<<16 { // bound it against name churn; groups keep theirs
			clear(r.metas)
		}
		r.metas[g.name] = metas
	}
	for i, o := range r.c.outs {
		meta := metas[i]
		name := meta.Family
		if o.kind != outQuantiles {
			g.outs = append(g.outs, outSeries{ls: g.labels, hash: scrape.SeriesHash(name, g.labels), meta: meta})
			continue
		}
		for _, phi := range o.phiS {
			ls := withLabel(g.labels, "quantile", phi)
			g.outs = append(g.outs, outSeries{ls: ls, hash: scrape.SeriesHash(name, ls), meta: meta})
		}
	}
	g.outs = slices.Clip(g.outs)
}

// withLabel returns a sorted copy of ls with name set to value.
func withLabel(ls scrape.Labels, name, value string) scrape.Labels {
	out := make(scrape.Labels, 0, len(ls)+1)
	for _, l := range ls {
		if l.Name != name {
			out = append(out, l)
		}
	}
	out = append(out, scrape.Label{Name: name, Value: value})
	slices.SortFunc(out, func(a, b scrape.Label) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// quantile is Prometheus' quantile_over_time over sorted values: linear
// interpolation between the closest ranks.
func quantile(phi float64, sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	rank := phi * float64(n-1)
	lo := int(math.Floor(rank))
	hi := min(lo+1, n-1)
	w := rank - float64(lo)
	return sorted[lo]*(1-w) + sorted[hi]*w
}

// sweep forgets input series and groups unseen since cutoff (and not in an
// open window).
func (r *ruleState) sweep(a *Aggregator, cutoff int64) {
	for h, se := range r.series {
		if int64(se.seen)*1000 < cutoff {
			delete(r.series, h)
			delete(r.rates, h)
		}
	}
	inWindow := map[int32]bool{}
	for _, w := range r.windows {
		for gi, ac := range w.accs {
			if ac != nil {
				inWindow[int32(gi)] = true
			}
		}
	}
	per := r.perGroup()
	for gi, g := range r.groups {
		if g == nil || g.seen >= cutoff || inWindow[int32(gi)] {
			continue
		}
		delete(r.groupIdx, groupKey(g.name, g.labels))
		r.groups[gi] = nil
		r.free = append(r.free, int32(gi))
		r.outCount -= per // its series were unseen as long: deleted above
	}
	a.obs.OutputSeries(r.idx, r.outCount)
}
