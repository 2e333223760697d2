package aggregate

import (
	"math"
	"slices"
	"strings"
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
	return nowMs-r.lastSweep >= r.ttl/4 && r.numSeries() > 0
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
		w := r.windows[ws]
		out = r.emit(w, out)
		if r.lastWin == w {
			r.lastWin = nil
		}
		delete(r.windows, ws)
		r.spare = w
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

// emit appends one window's outputs, groups in slot order. The output
// label sets are decoded from the group keys here (one allocation per
// group, shared by its outputs; the strings point into the key arena).
func (r *ruleState) emit(w *window, out []scrape.Sample) []scrape.Sample {
	end := w.start + r.ivl
	l := &r.lay
	for gi, fl := range w.flags {
		if fl&flagPresent == 0 || !r.live(int32(gi)) {
			continue
		}
		g := &r.groups[gi]
		f := w.f[gi*l.width : (gi+1)*l.width]
		counted := fl&flagCounted != 0
		if counted && l.inc >= 0 {
			g.total += f[l.inc]
		}
		name, lb := r.groupName(int32(gi))
		ls, _ := decodeLabels(arenaString(lb)) // checked when stored
		metas := r.metasFor(name)
		for i, o := range r.c.outs {
			meta := metas[i]
			if o.kind == outQuantiles {
				vals := w.vals[gi]
				slices.Sort(vals)
				for j, phi := range o.phis {
					qls := withLabel(ls, "quantile", o.phiS[j])
					out = append(out, outSample(meta, qls, quantile(phi, vals), end, scrape.KindGauge))
				}
				continue
			}
			if v, kind, ok := value(o.kind, l, f, counted, g.total); ok {
				out = append(out, outSample(meta, ls, v, end, kind))
			}
		}
	}
	return out
}

// value is one output of a group's window columns f.
func value(k outKind, l *layout, f []float64, counted bool, total float64) (float64, scrape.Kind, bool) {
	switch k {
	case outTotal:
		return total, scrape.KindCounter, counted
	case outIncrease:
		return f[l.inc], scrape.KindDelta, counted
	case outRateSum:
		return f[l.rate], scrape.KindGauge, counted
	case outRateAvg: // none without a series with a rate
		return f[l.rate] / f[l.nrate], scrape.KindGauge, counted && f[l.nrate] > 0
	case outSumSamples:
		return f[l.sum], scrape.KindGauge, true
	case outCountSamples:
		return f[l.count], scrape.KindDelta, true
	case outCountSeries:
		return f[l.nser], scrape.KindDelta, true
	case outMin:
		return f[l.min], scrape.KindGauge, true
	case outMax:
		return f[l.max], scrape.KindGauge, true
	case outAvg:
		return f[l.sum] / f[l.count], scrape.KindGauge, true
	default: // outLast
		return f[l.last], scrape.KindGauge, true
	}
}

func outSample(meta *scrape.Meta, ls scrape.Labels, v float64, ts int64, kind scrape.Kind) scrape.Sample {
	return scrape.Sample{Name: meta.Family, Labels: scrape.SetOf(ls), Value: v, TimestampMs: ts, Kind: kind,
		ExplicitTS: true, Meta: meta, Hash: scrape.SeriesHash(meta.Family, ls)}
}

// metasFor returns the output Metas of an input name, shared by its groups
// (one per output, not per output series).
func (r *ruleState) metasFor(name string) []*scrape.Meta {
	metas := r.metas[name]
	if metas != nil {
		return metas
	}
	for i, o := range r.c.outs {
		typ := scrape.TypeGauge
		if o.kind == outTotal {
			typ = scrape.TypeCounter
		}
		metas = append(metas, &scrape.Meta{Family: r.c.outName(name, i), Type: typ, WindowSec: r.ivl / 1000})
	}
	if len(r.metas) > 1<<16 { // bound it against name churn
		clear(r.metas)
	}
	r.metas[strings.Clone(name)] = metas // not a substring pinning a group key
	return metas
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

// sweep forgets input series whose newest window ended before cutoff, then
// groups left without a series (and not in an open window). Ages go by the
// samples' timestamps: an accepted sample is at most interval+max_lateness
// older than its arrival.
func (r *ruleState) sweep(a *Aggregator, cutoff int64) {
	used := make([]uint64, (len(r.groups)+63)/64) // groups with a series left
	for si := range uint32(r.core.len()) {
		switch se := r.core.at(si); {
		case se.group == slotFree:
		case (int64(se.win)+1)*r.ivl < cutoff:
			r.forget(si)
		case se.group >= 0:
			used[se.group/64] |= 1 << (se.group % 64)
		}
	}
	for gi := range r.groups {
		if !r.live(int32(gi)) || used[gi/64]&(1<<(gi%64)) != 0 || r.inWindow(int32(gi)) {
			continue
		}
		r.release(int32(gi))
	}
	r.compact()
	a.obs.OutputSeries(r.idx, r.outputSeries())
}

// inWindow reports whether group gi has a sample in an open window.
func (r *ruleState) inWindow(gi int32) bool {
	for _, w := range r.windows {
		if int(gi) < len(w.flags) && w.flags[gi]&flagPresent != 0 {
			return true
		}
	}
	return false
}
