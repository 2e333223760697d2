package aggregate

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// inSeries is one input series' memory (32 bytes: it is most of the
// aggregation's memory).
type inSeries struct {
	last   float64 // counter baseline: the previous value
	lastTs int64   // its timestamp; 0: no baseline yet
	win    int64   // start of the window it last contributed to
	group  int32   // -1: refused by max_output_series
	seen   uint32  // last sample's arrival, Unix seconds, for expiry
}

// rateState is a series' rate within its window, for rules with rate_sum.
type rateState struct {
	winDelta  float64 // its increase within win
	winPrevTs int64   // timestamp of the baseline win's increase starts from
	rate      float64 // its rate within win, as added to that window's rate_sum
}

var noRate rateState // read-only stand-in for rules without rate_sum

// group is one output identity: input name and grouping labels.
type group struct {
	name   string
	labels scrape.Labels
	total  float64
	seen   int64
	outs   []outSeries // per output (per quantile for quantiles), built lazily
}

type outSeries struct {
	ls   scrape.Labels // the group's, or its own with a quantile label
	hash uint64
	meta *scrape.Meta // shared by the input name's groups; Family is the output name
}

// acc is one group's accumulator in one window.
type acc struct {
	sum, min, max, last, increase, rate float64
	count, series                       int64
	lastTs                              int64
	counted                             bool // counter outputs saw a sample
	vals                                []float64
}

type window struct {
	start int64
	accs  []*acc // by group index; nil: no sample of the group
	n     int    // non-nil accs
}

// get returns group gi's accumulator, creating it.
func (w *window) get(gi int32) *acc {
	if int(gi) >= len(w.accs) {
		w.accs = append(w.accs, make([]*acc, int(gi)+1-len(w.accs))...)
	}
	ac := w.accs[gi]
	if ac == nil {
		ac = &acc{min: math.Inf(1), max: math.Inf(-1), lastTs: math.MinInt64}
		w.accs[gi] = ac
		w.n++
	}
	return ac
}

type ruleState struct {
	idx      int
	c        *compiled
	ivl      int64 // ms
	lateness int64 // ms
	ttl      int64 // ms
	quant    bool  // has quantiles
	adds     bool  // has adding outputs
	rate     bool  // has rate_sum
	series   map[uint64]*inSeries
	rates    map[uint64]*rateState     // by series, only for rules with rate_sum
	metas    map[string][]*scrape.Meta // output Metas (and names) by input name
	groupIdx map[string]int32
	groups   []*group
	free     []int32 // expired group slots
	windows  map[int64]*window
	lastWin  *window // the window of the previous sample (most samples share it)
	// flushedTo is the end of the last flushed window: older samples are too old.
	flushedTo int64
	outCount  int // output series in use (groups × outputs)
	lastWarn  int64
	lastSweep int64
}

func newRuleState(idx int, c *compiled, lateness, ttl int64) *ruleState {
	r := &ruleState{idx: idx, c: c, ivl: c.Interval.Milliseconds(), lateness: lateness, ttl: ttl,
		series: map[uint64]*inSeries{}, rates: map[uint64]*rateState{}, metas: map[string][]*scrape.Meta{}, groupIdx: map[string]int32{},
		windows: map[int64]*window{}}
	for _, o := range c.outs {
		r.quant = r.quant || o.kind == outQuantiles
		r.adds = r.adds || o.kind.sums()
		r.rate = r.rate || o.kind == outRateSum
	}
	return r
}

func (r *ruleState) perGroup() int {
	n := 0
	for _, o := range r.c.outs {
		n += max(1, len(o.phis))
	}
	return n
}

// nameMask returns the rules whose name matchers accept name (memoized:
// names are interned by the parser, so this is one map lookup a sample).
func (a *Aggregator) nameMask(name string) uint64 {
	m, ok := a.names[name]
	if !ok {
		for k, r := range a.rules {
			if k < 64 && r.c.sel.MatchName(name) {
				m |= 1 << k
			}
		}
		if len(a.names) > 1<<16 { // bound the memo against unbounded name churn
			clear(a.names)
		}
		a.names[name] = m
	}
	return m
}

// matches checks the rule's selector on s (its name already passed the
// name matchers for rules < 64).
func (r *ruleState) matches(s *scrape.Sample) bool {
	if r.idx >= 64 && !r.c.sel.MatchName(s.Name) {
		return false
	}
	return r.c.sel.MatchLabels(s.Labels)
}

// add folds s in if the rule matches it; it reports whether it matched.
func (r *ruleState) add(a *Aggregator, s *scrape.Sample, nowMs int64) bool {
	if !r.matches(s) {
		return false
	}
	if scrape.IsStaleNaN(s.Value) {
		return true // a vanished series: its baseline stays for its return
	}
	a.obs.Input(r.idx, 1)
	ts := s.TimestampMs
	ws := floorDiv(ts, r.ivl) * r.ivl
	if ws+r.ivl <= r.flushedTo || ws+r.ivl+r.lateness <= nowMs {
		a.obs.Dropped(r.idx, ReasonTooOld, 1)
		return true
	}
	h := s.Hash
	if h == 0 {
		h = scrape.SeriesHash(s.Name, s.Labels)
	}
	se := r.series[h]
	if se == nil {
		se = &inSeries{group: r.groupFor(a, s, nowMs), win: math.MinInt64}
		if r.rate {
			r.rates[h] = &rateState{}
		}
		r.series[h] = se
	} else if se.group < 0 {
		se.group = r.groupFor(a, s, nowMs)
	}
	se.seen = uint32(nowMs / 1000)
	if se.group < 0 {
		a.obs.Dropped(r.idx, ReasonMaxOutputSeries, 1)
		return true
	}
	g := r.groups[se.group]
	g.seen = nowMs
	w := r.lastWin
	if w == nil || w.start != ws {
		if w = r.windows[ws]; w == nil {
			w = &window{start: ws}
			r.windows[ws] = w
		}
		r.lastWin = w
	}
	ac := w.get(se.group)
	newWin := se.win != ws
	if newWin && ws < se.win {
		newWin = false // a late sample of an earlier window: counted there already or not at all
	}
	if newWin {
		ac.series++
		se.win = ws
		if r.rate {
			*r.rates[h] = rateState{winPrevTs: se.lastTs}
		}
	}
	noSum := s.Kind == scrape.KindSummaryQuantile
	if noSum && r.adds {
		a.obs.Dropped(r.idx, ReasonSummaryQuantile, 1)
	}
	v := s.Value
	if !noSum {
		ac.sum += v
	}
	ac.count++
	ac.min = min(ac.min, v)
	ac.max = max(ac.max, v)
	if ts >= ac.lastTs {
		ac.last, ac.lastTs = v, ts
	}
	if r.quant {
		ac.vals = append(ac.vals, v)
	}
	if r.c.counter && !noSum {
		var rt *rateState
		if r.rate {
			rt = r.rates[h]
		}
		r.addCounter(a, se, rt, ac, v, ts)
	}
	return true
}

func (r *ruleState) addCounter(a *Aggregator, se *inSeries, rt *rateState, ac *acc, v float64, ts int64) {
	ac.counted = true
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
	ac.increase += d
	if rt != nil {
		rt.winDelta += d
		if span := ts - rt.winPrevTs; span > 0 {
			rate := rt.winDelta / (float64(span) / 1000)
			ac.rate += rate - rt.rate
			rt.rate = rate
		}
	}
}

// groupFor finds or creates s's group; -1 when max_output_series refuses it.
func (r *ruleState) groupFor(a *Aggregator, s *scrape.Sample, nowMs int64) int32 {
	ls := r.groupLabels(s.Labels)
	key := groupKey(s.Name, ls)
	if gi, ok := r.groupIdx[key]; ok {
		return gi
	}
	per := r.perGroup()
	if r.outCount+per > r.c.MaxOutputSeries {
		if nowMs-r.lastWarn >= time.Minute.Milliseconds() {
			r.lastWarn = nowMs
			a.warn(r.idx, "max_output_series reached: new output series are dropped")
		}
		return -1
	}
	r.outCount += per
	g := &group{name: s.Name, labels: ls, seen: nowMs}
	var gi int32
	if n := len(r.free); n > 0 {
		gi, r.free = r.free[n-1], r.free[:n-1]
		r.groups[gi] = g
	} else {
		gi = int32(len(r.groups))
		r.groups = append(r.groups, g)
	}
	r.groupIdx[key] = gi
	a.obs.OutputSeries(r.idx, r.outCount)
	return gi
}

// groupLabels keeps the grouping labels of ls; le and quantile always stay.
func (r *ruleState) groupLabels(ls scrape.Labels) scrape.Labels {
	out := make(scrape.Labels, 0, len(ls))
	for _, l := range ls {
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
	return slices.Clip(out)
}

func groupKey(name string, ls scrape.Labels) string {
	var b strings.Builder
	b.WriteString(name)
	for _, l := range ls {
		b.WriteByte(0xff)
		b.WriteString(l.Name)
		b.WriteByte(0xfe)
		b.WriteString(l.Value)
	}
	return b.String()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
