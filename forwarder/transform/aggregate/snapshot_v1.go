package aggregate

import (
	"math"
	"slices"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// restoreV1 reads one rule's state written by snapshot version 1 (an
// object per series, group and accumulator, before the compact state) into
// r's layout (nil r: read and discard). Version 1, per rule after the
// fingerprint: varint flushedTo, lastSweep; groups (a 0 byte for a free
// slot, else 1, name, labels, total, seen in Unix ms); series (hash, last,
// lastTs, window start or MinInt64, winDelta, winPrevTs, rate, group, seen
// in Unix s); windows (start, then per accumulator: slot, sum, min, max,
// last, increase, rate, count, series, lastTs, counted, values).
func (r *ruleState) restoreV1(d *reader) {
	if r == nil {
		r = newRuleState(0, &compiled{Rule: Rule{Interval: time.Second}}, 0, 0)
	}
	r.flushedTo, r.lastSweep = d.v(), d.v()
	ng := d.count()
	for i := 0; i < ng && !d.err; i++ {
		if d.byte1() == 0 {
			r.addFree()
			continue
		}
		name := d.s()
		var ls scrape.Labels
		nl := d.count()
		for j := 0; j < nl && !d.err; j++ {
			ls = append(ls, scrape.Label{Name: d.s(), Value: d.s()})
		}
		total := d.f()
		d.v() // seen: a group now lives as long as its series
		r.restoreGroup(d, appendKey(nil, name, ls), total)
	}
	ns := d.count()
	for i := 0; i < ns && !d.err; i++ {
		h := d.u64()
		ctr := counterState{last: d.f(), lastTs: d.v()}
		win := d.v()
		rt := rateState{winDelta: d.f(), winPrevTs: d.v(), rate: d.f()}
		se := seriesCore{hash: h, group: d.i32()}
		seen := d.v()
		if win != math.MinInt64 {
			se.win = r.winIndex(win)
		} else if se.group < 0 {
			se.win = r.winIndex(seen * 1000) // refused: kept for the TTL as before
		}
		si, created := r.slot(h)
		if !created {
			d.fail()
			break
		}
		*r.core.at(si) = se
		if r.c.counter {
			*r.ctr.at(si) = ctr
		}
		if r.rate {
			*r.rates.at(si) = rt
		}
		r.checkSeries(d, si)
	}
	l := &r.lay
	r.restoreWindows(d, d.i32, func(w *window, gi int32, base int) {
		sum, mn, mx, last, inc, rate := d.f(), d.f(), d.f(), d.f(), d.f(), d.f()
		count, nser, lastTs := d.v(), d.v(), d.v()
		counted := d.byte1() == 1
		var vals []float64
		nv := d.count()
		for k := 0; k < nv && !d.err; k++ {
			vals = append(vals, d.f())
		}
		for _, c := range []struct {
			off int
			v   float64
		}{{l.sum, sum}, {l.count, float64(count)}, {l.min, mn}, {l.max, mx}, {l.last, last},
			{l.inc, inc}, {l.rate, rate}, {l.nser, float64(nser)}} {
			if c.off >= 0 {
				w.f[base+c.off] = c.v
			}
		}
		if l.ts {
			w.ts[gi] = lastTs
		}
		if l.vals {
			w.vals[gi] = vals
		}
		if counted {
			w.flags[gi] |= flagCounted
		}
	})
	slices.Sort(r.free)
}
