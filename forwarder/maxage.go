package forwarder

import "time"

// maxAgeIntervals caps how far a target's Cache-Control max-age may push
// its next scrape: at most this many scrape intervals. Without a cap,
// max-age=2147483647 would stop a target's scrapes for good while its old
// values kept being sent as fresh with up=1.
const maxAgeIntervals = 10

// freshFor is maxAge capped at maxAgeIntervals scrape intervals.
func (s *source) freshFor(maxAge time.Duration) time.Duration {
	return min(maxAge, maxAgeIntervals*max(s.cfg.Interval, time.Second))
}

// resetFreshness makes the next run scrape the target whatever max-age it
// gave last: a reload is the operator's way to ask again now.
func (s *source) resetFreshness() { s.staleCache.Store(true) }

// takeFreshnessReset reports, once, whether a reload asked for a fresh
// scrape. Call it from the source's job only.
func (s *source) takeFreshnessReset() bool { return s.staleCache.Swap(false) }
