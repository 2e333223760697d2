package state

import (
	"math"

	"github.com/promfwd/promfwd/scrape"
)

// Staleness tracks the series a source exposed in its last successful
// scrape, to emit Prometheus stale markers for series that disappear or for
// every series when the target goes down (as Prometheus itself does).
// One per source; used only from that source's scrape job.
//
// It keeps the scrape's series identities (a scrape.SeriesSet, shared with
// the target's parser), not its samples: the batch is freed once the sinks
// have encoded it. A steady target repeats its series in the same order
// every scrape (usually the very same set), so Observe first compares the
// two scrapes' series hashes by position (one sequential pass, no map);
// only when they differ does it build a set of the current series to find
// the ones that went away.
type Staleness struct {
	prev *scrape.SeriesSet // last successful scrape's series
}

// NewStaleness returns a tracker that has seen no scrape yet.
func NewStaleness() *Staleness {
	return &Staleness{}
}

var staleNaN = math.Float64frombits(scrape.StaleNaN)

// Last returns the series of the last successful scrape (nil if none, or
// after Down).
func (st *Staleness) Last() *scrape.SeriesSet { return st.prev }

// Observe records a successful scrape and returns stale markers (stamped
// nowMs) for the series of the previous scrape that are absent now.
func (st *Staleness) Observe(cur []scrape.Sample, nowMs int64) []scrape.Sample {
	return st.ObserveSeries(st.prev.Next(cur), nowMs)
}

// ObserveSeries is Observe for a scrape whose series cur describes.
func (st *Staleness) ObserveSeries(cur *scrape.SeriesSet, nowMs int64) []scrape.Sample {
	prev := st.prev
	st.prev = cur
	if prev.Len() == 0 || prev.SameSeries(cur) {
		return nil
	}
	// The set is not kept between calls: a steady target never gets here,
	// and a table sized for its series would stay live for nothing.
	set := make(map[uint64]struct{}, cur.Len())
	for i := range cur.Len() {
		set[cur.Hash(i)] = struct{}{}
	}
	var markers []scrape.Sample
	for i := range prev.Len() {
		h := prev.Hash(i)
		if _, ok := set[h]; !ok {
			markers = append(markers, marker(prev, i, nowMs))
			set[h] = struct{}{} // one marker per series, even if prev repeated it
		}
	}
	return markers
}

// Down returns stale markers for every series of the last successful scrape
// and forgets them: the target failed.
func (st *Staleness) Down(nowMs int64) []scrape.Sample {
	n := st.prev.Len()
	if n == 0 {
		return nil
	}
	markers := make([]scrape.Sample, 0, n)
	for i := range n {
		markers = append(markers, marker(st.prev, i, nowMs))
	}
	st.prev = nil
	return markers
}

// marker is the stale marker of series i of s: no value, no exemplar, no
// exposition timestamp.
func marker(s *scrape.SeriesSet, i int, nowMs int64) scrape.Sample {
	m := s.Sample(i)
	m.Value = staleNaN
	m.TimestampMs = nowMs
	return m
}
