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
// Entries live in a slice in the order their series were first seen, with a
// map from series hash to position. A target repeats its series in the same
// order every scrape, so the entry after the last one used is nearly always
// the next sample's: that one comparison replaces a probe of a map holding
// every series of every source (random memory access, the cost that mattered
// at 200k series).
type Dedupe struct {
	resendAfter time.Duration
	clock       clockwork.Clock

	mu        sync.Mutex
	idx       seriesIndex // series hash -> position in ents (live entries only); dedupe_index.go
	ents      []dedupeEntry
	dead      int   // entries in ents no longer in idx
	hint      int32 // position after the entry used last
	lastSweep time.Time
}

type dedupeEntry struct {
	hash   uint64
	bits   uint64 // math.Float64bits of the value sent
	sentAt int64  // unix nanoseconds, wall clock; deadSentAt once forgotten
}

// deadSentAt marks an entry whose series was forgotten (a stale marker).
const deadSentAt = math.MinInt64

// dedupeMinKeep is the number of dead entries below which ents is never
// compacted outside a sweep.
const dedupeMinKeep = 4096

// NewDedupe returns a dedupe with the given heartbeat. resendAfter <= 0
// disables dedupe (every sample passes). clock may be nil.
func NewDedupe(resendAfter time.Duration, clock clockwork.Clock) *Dedupe {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Dedupe{resendAfter: resendAfter, clock: clock}
}

// Enabled reports whether the dedupe filters anything.
func (d *Dedupe) Enabled() bool { return d != nil && d.resendAfter > 0 }

// find returns the position of h's live entry, or -1.
func (d *Dedupe) find(h uint64) int32 {
	i := d.hint
	if int(i) < len(d.ents) && d.ents[i].hash == h && d.ents[i].sentAt != deadSentAt {
		d.hint = i + 1
		return i
	}
	i = d.idx.find(d.ents, h)
	if i >= 0 {
		d.hint = i + 1
	}
	return i
}

// record remembers that h was sent with value bits at nowNs.
func (d *Dedupe) record(h, bits uint64, nowNs int64) {
	if i := d.find(h); i >= 0 {
		d.ents[i].bits, d.ents[i].sentAt = bits, nowNs
		return
	}
	i := int32(len(d.ents))
	d.ents = append(d.ents, dedupeEntry{hash: h, bits: bits, sentAt: nowNs})
	d.idx.insert(d.ents, i)
	d.hint = i + 1
}

// forget drops h's entry (its series went stale).
func (d *Dedupe) forget(h uint64) {
	if i := d.find(h); i >= 0 {
		d.idx.remove(d.ents, h)
		d.ents[i].sentAt = deadSentAt
		d.dead++
	}
}

// Filter returns the samples to send and how many were skipped. When nothing
// is skipped it returns in itself (shared read-only with other sinks);
// otherwise a new slice. Stale markers always pass and forget the series.
func (d *Dedupe) Filter(in []scrape.Sample) (out []scrape.Sample, skipped int) {
	if !d.Enabled() || len(in) == 0 {
		return in, 0
	}
	now := d.clock.Now()
	nowNs := now.UnixNano()
	horizon := nowNs - int64(d.resendAfter)

	d.mu.Lock()
	defer d.mu.Unlock()
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
			send = k < 0 || d.ents[k].bits != math.Float64bits(s.Value) || d.ents[k].sentAt <= horizon
		}
		if send {
			d.hint = hint // walk the group's entries again, in order
			for j := i; j < end; j++ {
				s := &in[j]
				if scrape.IsStaleNaN(s.Value) {
					d.forget(s.Hash)
					continue
				}
				d.record(s.Hash, math.Float64bits(s.Value), nowNs)
			}
			if out != nil {
				out = append(out, in[i:end]...)
			}
		} else {
			if out == nil {
				out = make([]scrape.Sample, i, len(in))
				copy(out, in[:i])
			}
			skipped += end - i
		}
		i = end
	}
	d.maybeSweep(now)
	if out == nil {
		return in, 0
	}
	return out, skipped
}

// maybeSweep forgets series not sent for three heartbeats: they vanished
// from their target. Runs at most once per resendAfter, or sooner when
// forgotten entries pile up; called with mu held.
func (d *Dedupe) maybeSweep(now time.Time) {
	if now.Sub(d.lastSweep) < d.resendAfter {
		if d.dead > d.idx.live+dedupeMinKeep {
			d.compact(deadSentAt + 1)
		}
		return
	}
	d.lastSweep = now
	d.compact(now.Add(-3 * d.resendAfter).UnixNano())
}

// compact keeps the live entries sent at or after cutoff, in their order,
// and rebuilds the index when anything went.
func (d *Dedupe) compact(cutoff int64) {
	n := 0
	for _, e := range d.ents {
		if e.sentAt >= cutoff {
			n++
		}
	}
	if n == len(d.ents) {
		return
	}
	d.set(d.ents, n, cutoff)
}

// set replaces the entries with the n of src sent at or after cutoff.
func (d *Dedupe) set(src []dedupeEntry, n int, cutoff int64) {
	ents := make([]dedupeEntry, 0, n)
	for _, e := range src {
		if e.sentAt >= cutoff {
			ents = append(ents, e)
		}
	}
	d.idx.rebuild(ents, len(ents))
	d.ents, d.dead, d.hint = ents, 0, 0
}

// Len is the number of series remembered.
func (d *Dedupe) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.idx.live
}
