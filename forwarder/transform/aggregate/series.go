package aggregate

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// The state is laid out for memory (it is per input series and per output
// group, and the GC's heap goal multiplies it): no per-series or per-group
// heap object and no pointers the GC has to scan. An input series is a
// slot in the parallel slices core, ctr (counter rules) and rates (rate_sum
// rules), found by its hash through index. A group is one packed
// identity string and two numbers; its window accumulators are columns of
// the window (window.go), and its output label sets are decoded from the
// identity at flush.

// seriesCore is every input series' state (16 bytes).
type seriesCore struct {
	hash  uint64 // the series' (the index's key)
	group int32  // -1: refused by max_output_series; slotFree: no series
	win   uint32 // index (start/interval) of the newest window it contributed to; 0: none
}

const slotFree = -2

// counterState is an input series' counter baseline, for rules with a
// counter output (16 bytes).
type counterState struct {
	last   float64 // the previous value
	lastTs int64   // its timestamp; 0: no baseline yet
}

// rateState is a series' rate within its window, for rules with rate_sum
// or rate_avg.
type rateState struct {
	winDelta  float64 // its increase within win
	winPrevTs int64   // timestamp of the baseline win's increase starts from
	rate      float64 // its rate within win, as added to that window's rate_sum; NaN: none yet
}

// noRate is a series' rate state before its first rate in a window.
func noRate(prevTs int64) rateState { return rateState{winPrevTs: prevTs, rate: math.NaN()} }

type ruleState struct {
	idx      int
	c        *compiled
	ivl      int64 // ms
	lateness int64 // ms
	ttl      int64 // ms
	quant    bool  // has quantiles
	adds     bool  // has adding outputs
	rate     bool  // has rate_sum or rate_avg
	lay      layout
	// index finds an input series' slot in core, ctr and rates by its hash.
	index     slotIndex
	core      column[seriesCore]
	ctr       column[counterState]      // rules with a counter output, else empty
	rates     column[rateState]         // rules with rate_sum or rate_avg, else empty
	freeSlots []uint32                  // slots of expired series
	metas     map[string][]*scrape.Meta // output Metas (and names) by input name
	groupStore
	windows map[int64]*window
	lastWin *window // the window of the previous sample (most samples share it)
	spare   *window // a flushed window kept for its arrays
	keyBuf  []byte
	lsBuf   scrape.Labels
	// flushedTo is the end of the last flushed window: older samples are too old.
	flushedTo int64
	lastWarn  int64
	lastSweep int64
}

func newRuleState(idx int, c *compiled, lateness, ttl int64) *ruleState {
	r := &ruleState{idx: idx, c: c, ivl: c.Interval.Milliseconds(), lateness: lateness, ttl: ttl,
		metas: map[string][]*scrape.Meta{}, windows: map[int64]*window{}}
	for _, o := range c.outs {
		r.quant = r.quant || o.kind == outQuantiles
		r.adds = r.adds || o.kind.sums()
		r.rate = r.rate || o.kind == outRateSum || o.kind == outRateAvg
	}
	r.lay = newLayout(c.outs)
	return r
}

// outputSeries is the output series in use: groups × outputs.
func (r *ruleState) outputSeries() int { return r.numGroups() * r.perGroup() }

func (r *ruleState) perGroup() int {
	n := 0
	for _, o := range r.c.outs {
		n += max(1, len(o.phis))
	}
	return n
}

// nameRules returns the rules whose name matchers accept name (memoized:
// names are interned by the parser, so this is one map lookup a sample).
func (a *Aggregator) nameRules(name string) nameRules {
	m, ok := a.names[name]
	if !ok {
		bucket := bucketName(name)
		for k, r := range a.rules {
			if k < 64 && r.c.sel.MatchName(name) {
				m.own |= 1 << k
			}
			if k < 64 && bucket != "" && r.c.sel.MatchName(bucket) {
				m.bucket |= 1 << k
			}
		}
		if len(a.names) > 1<<16 { // bound the memo against unbounded name churn
			clear(a.names)
		}
		a.names[name] = m
	}
	return m
}

// A histogram is aggregated whole: a rule that matches its _bucket series
// also takes the _sum and _count series with the same labels (which have
// no le), so that matching h_bucket never leaves h_sum and h_count raw.
func histSibling(s *scrape.Sample) bool {
	return s.Kind == scrape.KindHistogramSum || s.Kind == scrape.KindHistogramCount
}

// bucketName is the _bucket name of a histogram's _sum or _count name, or "".
func bucketName(name string) string {
	for _, suf := range []string{"_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suf); ok {
			return base + "_bucket"
		}
	}
	return ""
}

// matches checks the rule's selector on s (its name already passed the
// name matchers for rules < 64); hist: s is a histogram's _sum or _count.
func (r *ruleState) matches(s *scrape.Sample, hist bool) bool {
	if r.idx >= 64 && !r.c.sel.MatchName(s.Name) && !(hist && r.c.sel.MatchName(bucketName(s.Name))) {
		return false
	}
	return r.c.sel.MatchLabels(s.Labels)
}

// winIndex is the index of the window holding ts (0 for the first window
// of the epoch and before, which no live sample is in).
func (r *ruleState) winIndex(ts int64) uint32 { return winNumber(floorDiv(ts, r.ivl)) }

// winNumber is winIndex given the window's number floorDiv(ts, ivl).
func winNumber(i int64) uint32 {
	if i <= 0 || i > math.MaxUint32 {
		return 0
	}
	return uint32(i)
}

// slot returns the slot of series h, creating it.
func (r *ruleState) slot(h uint64) (uint32, bool) {
	if si, ok := r.index.find(h, &r.core); ok {
		return si, false
	}
	var si uint32
	fresh := seriesCore{hash: h, group: -1}
	if n := len(r.freeSlots); n > 0 {
		si, r.freeSlots = r.freeSlots[n-1], r.freeSlots[:n-1]
		*r.core.at(si) = fresh
		if r.c.counter {
			*r.ctr.at(si) = counterState{}
		}
		if r.rate {
			*r.rates.at(si) = noRate(0)
		}
	} else {
		si = uint32(r.core.len())
		r.core.push(fresh)
		if r.c.counter {
			r.ctr.push(counterState{})
		}
		if r.rate {
			r.rates.push(noRate(0))
		}
	}
	r.index.insert(h, si, &r.core)
	return si, true
}

// forget frees series slot si.
func (r *ruleState) forget(si uint32) {
	se := r.core.at(si)
	r.index.remove(se.hash, &r.core)
	*se = seriesCore{group: slotFree}
	r.freeSlots = append(r.freeSlots, si)
}

// numSeries is the number of input series the rule remembers.
func (r *ruleState) numSeries() int { return r.index.n }

// add folds s in if the rule matches it; it reports whether it matched.
func (r *ruleState) add(a *Aggregator, s *scrape.Sample, hist bool, nowMs int64) bool {
	if !r.matches(s, hist) {
		return false
	}
	if scrape.IsStaleNaN(s.Value) {
		return true // a vanished series: its baseline stays for its return
	}
	a.obs.Input(r.idx, 1)
	ts := s.TimestampMs
	wn := floorDiv(ts, r.ivl) // the window's number: start wn*ivl, index winNumber(wn)
	ws := wn * r.ivl
	if ws+r.ivl <= r.flushedTo || ws+r.ivl+r.lateness <= nowMs {
		a.obs.Dropped(r.idx, ReasonTooOld, 1)
		return true
	}
	h := s.Hash
	if h == 0 {
		h = s.Labels.SeriesHash(s.Name)
	}
	si, created := r.slot(h)
	se := r.core.at(si)
	if created || se.group < 0 {
		if se.group = r.groupFor(a, s, nowMs); se.group >= 0 {
			se.win = 0 // its first counted window is this one
		}
	}
	wi := winNumber(wn)
	if se.group < 0 {
		se.win = max(se.win, wi) // for expiry
		a.obs.Dropped(r.idx, ReasonMaxOutputSeries, 1)
		return true
	}
	w := r.lastWin
	if w == nil || w.start != ws {
		if w = r.windows[ws]; w == nil {
			w = r.newWindow(ws)
			r.windows[ws] = w
		}
		r.lastWin = w
	}
	base := w.get(&r.lay, se.group)
	if wi > se.win { // else a late sample of an earlier window: counted there already or not at all
		if r.lay.nser >= 0 {
			w.f[base+r.lay.nser]++
		}
		se.win = wi
		if r.rate {
			*r.rates.at(si) = noRate(r.ctr.at(si).lastTs)
		}
	}
	noSum := s.Kind == scrape.KindSummaryQuantile
	if noSum && r.adds {
		a.obs.Dropped(r.idx, ReasonSummaryQuantile, 1)
	}
	v := s.Value
	w.fold(&r.lay, base, se.group, v, ts, noSum)
	if r.c.counter && !noSum {
		var rt *rateState
		if r.rate {
			rt = r.rates.at(si)
		}
		r.addCounter(a, r.ctr.at(si), rt, w, se.group, base, v, ts)
	}
	return true
}

func (r *ruleState) addCounter(a *Aggregator, se *counterState, rt *rateState, w *window, g int32, base int, v float64, ts int64) {
	w.flags[g] |= flagCounted
	if se.lastTs != 0 && ts <= se.lastTs {
		a.obs.Dropped(r.idx, ReasonOutOfOrder, 1)
		return
	}
	if se.lastTs == 0 { // never seen: the baseline
		se.last, se.lastTs = v, ts
		if rt != nil && rt.winPrevTs == 0 {
			rt.winPrevTs = ts
		}
		return
	}
	d := v - se.last
	if v < se.last {
		d = v // a reset: the counter restarted from 0
	}
	se.last, se.lastTs = v, ts
	if r.lay.inc >= 0 {
		w.f[base+r.lay.inc] += d
	}
	if rt != nil {
		rt.winDelta += d
		if span := ts - rt.winPrevTs; span > 0 {
			rate := rt.winDelta / (float64(span) / 1000)
			if math.IsNaN(rt.rate) { // its first rate in the window
				w.f[base+r.lay.rate] += rate
				if r.lay.nrate >= 0 {
					w.f[base+r.lay.nrate]++
				}
			} else {
				w.f[base+r.lay.rate] += rate - rt.rate
			}
			rt.rate = rate
		}
	}
}

// groupFor finds or creates s's group; -1 when max_output_series refuses it.
func (r *ruleState) groupFor(a *Aggregator, s *scrape.Sample, nowMs int64) int32 {
	r.lsBuf = r.groupLabels(r.lsBuf[:0], s.Labels)
	id, known := r.nameID(s.Name)
	r.keyBuf = appendIDKey(r.keyBuf[:0], id, r.lsBuf) // a new name's id replaces id 0 below
	h := r.hashOf(r.keyBuf)
	if known {
		if gi, ok := r.lookup(r.keyBuf, h); ok {
			return gi
		}
	}
	per := r.perGroup()
	if (r.numGroups()+1)*per > r.c.MaxOutputSeries || len(r.keys)+len(r.keyBuf) > maxKeyBytes {
		if nowMs-r.lastWarn >= time.Minute.Milliseconds() {
			r.lastWarn = nowMs
			a.warn(r.idx, "max_output_series reached: new output series are dropped")
		}
		return -1
	}
	if !known {
		id = r.addName(s.Name)
		r.keyBuf = appendIDKey(r.keyBuf[:0], id, r.lsBuf)
		h = r.hashOf(r.keyBuf)
	}
	gi := r.newGroup(r.keyBuf, h)
	a.obs.OutputSeries(r.idx, r.numGroups()*per)
	return gi
}

// groupLabels appends the grouping labels of ls to out; le and quantile
// always stay.
func (r *ruleState) groupLabels(out scrape.Labels, ls scrape.LabelSet) scrape.Labels {
	for _, l := range ls.All() {
		keep := l.Name == "le" || l.Name == "quantile"
		switch {
		case keep:
		case len(r.c.by) > 0:
			_, keep = slices.BinarySearch(r.c.by, l.Name)
		default:
			_, found := slices.BinarySearch(r.c.without, l.Name)
			keep = !found
		}
		if keep {
			out = append(out, l)
		}
	}
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
