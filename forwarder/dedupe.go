package forwarder

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
type Dedupe struct {
	resendAfter time.Duration
	clock       clockwork.Clock

	mu        sync.Mutex
	last      map[uint64]dedupeEntry
	lastSweep time.Time
}

type dedupeEntry struct {
	bits   uint64 // math.Float64bits of the value sent
	sentAt int64  // unix nanoseconds, wall clock
}

// NewDedupe returns a dedupe with the given heartbeat. resendAfter <= 0
// disables dedupe (every sample passes). clock may be nil.
func NewDedupe(resendAfter time.Duration, clock clockwork.Clock) *Dedupe {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Dedupe{resendAfter: resendAfter, clock: clock, last: make(map[uint64]dedupeEntry)}
}

// Enabled reports whether the dedupe filters anything.
func (d *Dedupe) Enabled() bool { return d != nil && d.resendAfter > 0 }

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
		send := false
		for j := i; j < end && !send; j++ {
			s := &in[j]
			if scrape.IsStaleNaN(s.Value) {
				send = true
				break
			}
			e, ok := d.last[s.Hash]
			send = !ok || e.bits != math.Float64bits(s.Value) || e.sentAt <= horizon
		}
		if send {
			for j := i; j < end; j++ {
				s := &in[j]
				if scrape.IsStaleNaN(s.Value) {
					delete(d.last, s.Hash)
					continue
				}
				d.last[s.Hash] = dedupeEntry{bits: math.Float64bits(s.Value), sentAt: nowNs}
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
// from their target. Runs at most once per resendAfter; called with mu held.
func (d *Dedupe) maybeSweep(now time.Time) {
	if now.Sub(d.lastSweep) < d.resendAfter {
		return
	}
	d.lastSweep = now
	cutoff := now.Add(-3 * d.resendAfter).UnixNano()
	for h, e := range d.last {
		if e.sentAt < cutoff {
			delete(d.last, h)
		}
	}
}

// Len is the number of series remembered.
func (d *Dedupe) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.last)
}
