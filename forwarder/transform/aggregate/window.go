package aggregate

import (
	"math"
	"slices"
)

// layout is which accumulator columns a rule's outputs need: a window
// holds width float64s per group, at these offsets (-1: not kept).
type layout struct {
	width                                              int
	sum, count, min, max, last, inc, rate, nrate, nser int
	ts                                                 bool // per group: the last sample's timestamp (last)
	vals                                               bool // per group: every value (quantiles)
}

// Layout bits: the snapshot records them so that a rule's windows can be
// read (and skipped) without its config.
const (
	colSum = 1 << iota
	colCount
	colMin
	colMax
	colLast
	colInc
	colRate
	colSeries
	colVals
	colRateN // series with a rate in the window (rate_avg)
)

func newLayout(outs []output) layout {
	var m uint
	for _, o := range outs {
		switch o.kind {
		case outTotal, outIncrease:
			m |= colInc
		case outRateSum:
			m |= colRate
		case outRateAvg:
			m |= colRate | colRateN
		case outSumSamples:
			m |= colSum
		case outCountSamples:
			m |= colCount
		case outCountSeries:
			m |= colSeries
		case outMin:
			m |= colMin
		case outMax:
			m |= colMax
		case outAvg:
			m |= colSum | colCount
		case outLast:
			m |= colLast
		case outQuantiles:
			m |= colVals
		}
	}
	return layoutOf(m)
}

func layoutOf(m uint) layout {
	l := layout{ts: m&colLast != 0, vals: m&colVals != 0}
	for _, c := range []struct {
		bit uint
		off *int
	}{{colSum, &l.sum}, {colCount, &l.count}, {colMin, &l.min}, {colMax, &l.max}, {colLast, &l.last},
		{colInc, &l.inc}, {colRate, &l.rate}, {colSeries, &l.nser}, {colRateN, &l.nrate}} {
		*c.off = -1
		if m&c.bit != 0 {
			*c.off = l.width
			l.width++
		}
	}
	return l
}

// mask is the inverse of layoutOf.
func (l *layout) mask() uint {
	var m uint
	for _, c := range []struct {
		bit uint
		off int
	}{{colSum, l.sum}, {colCount, l.count}, {colMin, l.min}, {colMax, l.max}, {colLast, l.last},
		{colInc, l.inc}, {colRate, l.rate}, {colSeries, l.nser}, {colRateN, l.nrate}} {
		if c.off >= 0 {
			m |= c.bit
		}
	}
	if l.vals {
		m |= colVals
	}
	return m
}

// Per-group window flags.
const (
	flagPresent = 1 << iota // the group has a sample in the window
	flagCounted             // counter outputs saw a sample
)

// window is one open window: per group (by group index) its flags and its
// accumulator columns, so a group costs width×8+1 bytes a window and no
// object.
type window struct {
	start int64
	n     int         // groups present
	flags []uint8     // by group
	f     []float64   // width per group
	ts    []int64     // by group, layouts with last
	vals  [][]float64 // by group, layouts with quantiles
}

// newWindow returns an empty window, reusing the arrays of the last
// flushed one.
func (r *ruleState) newWindow(start int64) *window {
	w := r.spare
	r.spare = nil
	if w == nil {
		w = &window{}
	}
	w.start, w.n = start, 0
	w.flags, w.f, w.ts = w.flags[:0], w.f[:0], w.ts[:0]
	w.vals = w.vals[:0]
	return w
}

// extend returns s with length n (new elements not zeroed).
func extend[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	return slices.Grow(s, n-len(s))[:n]
}

// get returns the offset of group g's columns in w.f, initializing them at
// the group's first sample in the window.
func (w *window) get(l *layout, g int32) int {
	if int(g) >= len(w.flags) {
		old := len(w.flags)
		w.flags = extend(w.flags, int(g)+1)
		clear(w.flags[old:])
		w.f = extend(w.f, (int(g)+1)*l.width)
		if l.ts {
			w.ts = extend(w.ts, int(g)+1)
		}
		if l.vals {
			w.vals = extend(w.vals, int(g)+1)
		}
	}
	base := int(g) * l.width
	if w.flags[g]&flagPresent == 0 {
		w.flags[g] = flagPresent
		w.n++
		clear(w.f[base : base+l.width])
		if l.min >= 0 {
			w.f[base+l.min] = math.Inf(1)
		}
		if l.max >= 0 {
			w.f[base+l.max] = math.Inf(-1)
		}
		if l.ts {
			w.ts[g] = math.MinInt64
		}
		if l.vals {
			w.vals[g] = w.vals[g][:0]
		}
	}
	return base
}

// fold adds one sample's value to group g's columns at base.
func (w *window) fold(l *layout, base int, g int32, v float64, ts int64, noSum bool) {
	f := w.f[base : base+l.width]
	if l.sum >= 0 && !noSum {
		f[l.sum] += v
	}
	if l.count >= 0 {
		f[l.count]++
	}
	if l.min >= 0 {
		f[l.min] = min(f[l.min], v)
	}
	if l.max >= 0 {
		f[l.max] = max(f[l.max], v)
	}
	if l.ts && ts >= w.ts[g] {
		f[l.last], w.ts[g] = v, ts
	}
	if l.vals {
		w.vals[g] = append(w.vals[g], v)
	}
}
