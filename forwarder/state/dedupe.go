package state

import (
	"math"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/promfwd/promfwd/scrape"
)

// Dedupe remembers, for one sink, the last value sent for each series and
// the wall-clock time it was sent. A sample is skipped while its value is
// unchanged and it was sent less than resendAfter ago; the heartbeat keeps
// dashboards and staleness windows fed. Expiry is by wall clock, never by the
// sample's own timestamp (an upstream that caches for an hour keeps
// returning old timestamps).
//
// Histograms and summaries are decided per group (scrape.GroupEnd): if any
// bucket, quantile, sum or count changed, the whole group goes out, so a sink
// never receives half of a histogram at one timestamp.
//
// Entries (20 bytes: hash, value, time; dedupe_store.go) live in pages in
// the order their series were first seen, with an index from series hash to
// position (dedupe_index.go; dropped while no lookup needs it,
// dedupe_lookup.go). A target repeats its series in the same
// order every scrape, so the entry after the last one used is nearly always
// the next sample's: that one comparison replaces a probe of a map holding
// every series of every source (random memory access, the cost that mattered
// at 200k series).
type Dedupe struct {
	resendAfter time.Duration
	clock       clockwork.Clock

	mu        sync.Mutex
	idx       seriesIndex // series hash -> position in ents (live entries only), when indexed; dedupe_index.go
	indexed   bool        // idx is built (dedupe_lookup.go)
	lookups   int         // index lookups since the last sweep
	starts    map[uint64]int32
	ents      dedupeEntries // dedupe_store.go
	live      int           // live entries in ents
	t         sentClock     // what ents' times count in; dedupe_store.go
	dead      int           // entries in ents no longer in idx
	hint      int32         // position after the entry used last
	lastSweep time.Time
	runs      []int32 // Filter's scratch: [start, end) of the runs it sends
}

// dedupeMinKeep is the number of dead entries below which ents is never
// compacted outside a sweep.
const dedupeMinKeep = 4096

// NewDedupe returns a dedupe with the given heartbeat. resendAfter <= 0
// disables dedupe (every sample passes). clock may be nil.
func NewDedupe(resendAfter time.Duration, clock clockwork.Clock) *Dedupe {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Dedupe{resendAfter: resendAfter, clock: clock, t: newSentClock(resendAfter)}
}

// Enabled reports whether the dedupe filters anything.
func (d *Dedupe) Enabled() bool { return d != nil && d.resendAfter > 0 }

// record remembers that h was sent with value bits at unit at.
func (d *Dedupe) record(h, bits uint64, at uint32) {
	if i := d.find(h); i >= 0 {
		d.ents.set(i, bits, at)
		return
	}
	i := d.ents.add(h, bits, at)
	d.idx.insert(&d.ents, i) // find returned -1: the index is built
	d.live++
	d.hint = i + 1
}

// forget drops h's entry (its series went stale).
func (d *Dedupe) forget(h uint64) {
	if i := d.find(h); i >= 0 {
		if d.indexed {
			d.idx.remove(&d.ents, h)
		}
		d.ents.kill(i)
		d.dead++
		d.live--
	}
}

// Filter returns the samples to send and how many were skipped. When nothing
// is skipped it returns in itself (shared read-only with other sinks), when
// one run of in is sent that run (capacity capped, so an append cannot write
// into in), otherwise a new slice of exactly the samples sent. Stale markers
// always pass and forget the series.
func (d *Dedupe) Filter(in []scrape.Sample) (out []scrape.Sample, skipped int) {
	if !d.Enabled() || len(in) == 0 {
		return in, 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	skipped = d.filterLocked(in)
	switch {
	case skipped == 0:
		return in, 0
	case len(d.runs) == 0:
		return nil, skipped
	case len(d.runs) == 2:
		return in[d.runs[0]:d.runs[1]:d.runs[1]], skipped
	}
	return d.joinRuns(in, skipped), skipped
}

// filterLocked decides in's groups, records what is sent, and leaves the
// runs of in to send in d.runs; it returns how many samples it skipped.
func (d *Dedupe) filterLocked(in []scrape.Sample) (skipped int) {
	now := d.clock.Now()
	nowNs := now.UnixNano()
	if d.t.outOfRange(nowNs, d.resendAfter) {
		// Only entries older than 3 x resend_after go, which this call's
		// own sweep would drop anyway; they are expired for every decision.
		d.sweep(now)
	}
	at := d.t.unit(nowNs)
	horizon := d.t.rel(nowNs - int64(d.resendAfter)) // sent at or before: expired
	d.runs = d.runs[:0]
	for i := 0; i < len(in); {
		end := scrape.GroupEnd(in, i)
		hint := d.hint
		send := false
		for j := i; j < end && !send; j++ {
			s := &in[j]
			if scrape.IsStaleNaN(s.Value) || s.Kind == scrape.KindDelta { // an interval count is never "unchanged"
				send = true
				break
			}
			k := d.find(s.Hash)
			if k < 0 {
				send = true
				break
			}
			_, bits, sent := d.ents.get(k)
			send = bits != math.Float64bits(s.Value) || int64(sent) <= horizon
		}
		if send {
			d.hint = hint // walk the group's entries again, in order
			for j := i; j < end; j++ {
				s := &in[j]
				if scrape.IsStaleNaN(s.Value) {
					d.forget(s.Hash)
					continue
				}
				d.record(s.Hash, math.Float64bits(s.Value), at)
			}
			if n := len(d.runs); n > 0 && d.runs[n-1] == int32(i) {
				d.runs[n-1] = int32(end)
			} else {
				d.runs = append(d.runs, int32(i), int32(end))
			}
		} else {
			skipped += end - i
		}
		i = end
	}
	d.maybeSweep(now)
	return skipped
}

// maybeSweep forgets series not sent for three heartbeats: they vanished
// from their target. Runs at most once per resendAfter, or sooner when
// forgotten entries pile up; called with mu held.
func (d *Dedupe) maybeSweep(now time.Time) {
	if now.Sub(d.lastSweep) < d.resendAfter {
		if d.dead > d.live+dedupeMinKeep {
			d.compact(atDead + 1)
		}
		return
	}
	d.sweep(now)
}

// sweep drops the entries sent before now - 3 x resendAfter and moves the
// time base to there.
func (d *Dedupe) sweep(now time.Time) {
	d.lastSweep = now
	cutoffNs := now.Add(-3 * d.resendAfter).UnixNano()
	if !d.t.set {
		d.t.base, d.t.set = (cutoffNs-int64(d.resendAfter))>>d.t.shift, true
		return
	}
	d.compact(d.t.unit(cutoffNs))
	d.rebase(cutoffNs >> d.t.shift)
	d.afterSweep() // dedupe_lookup.go
}

// rebase moves unit 1 to unit number base (ns >> shift), keeping every
// live entry's time (clamped into the range when base moves down).
func (d *Dedupe) rebase(base int64) {
	delta := base - d.t.base
	if delta == 0 {
		return
	}
	d.t.base = base
	for i := range d.ents.len() {
		if _, bits, at := d.ents.get(i); at != atDead {
			d.ents.set(i, bits, clampUnit(int64(at)-delta))
		}
	}
}

// compact keeps the live entries sent at or after unit cutoff, in their
// order, and rebuilds the index (if built) when anything went.
func (d *Dedupe) compact(cutoff uint32) {
	cutoff = max(cutoff, atDead+1)
	n := d.ents.len()
	d.ents.keep(func(at uint32) bool { return at >= cutoff })
	if d.ents.len() == n {
		return
	}
	if d.indexed {
		d.idx.rebuild(&d.ents)
	}
	d.live = int(d.ents.len())
	d.dead, d.hint = 0, 0
}

// Len is the number of series remembered.
func (d *Dedupe) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live
}
