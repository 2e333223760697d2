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
// A steady target repeats its series in the same order every scrape, so
// Observe first compares the two scrapes' series hashes by position (one
// sequential pass, no map); only when they differ does it build a set of
// the current series to find the ones that went away.
type Staleness struct {
	prev []scrape.Sample // last successful scrape's samples (read-only)
}

// NewStaleness returns a tracker that has seen no scrape yet.
func NewStaleness() *Staleness {
	return &Staleness{}
}

var staleNaN = math.Float64frombits(scrape.StaleNaN)

// Observe records a successful scrape and returns stale markers (stamped
// nowMs) for the series of the previous scrape that are absent now.
func (st *Staleness) Observe(cur []scrape.Sample, nowMs int64) []scrape.Sample {
	prev := st.prev
	st.prev = cur
	if len(prev) == 0 || sameSeries(prev, cur) {
		return nil
	}
	// The set is not kept between calls: a steady target never gets here,
	// and a table sized for its series would stay live for nothing.
	set := make(map[uint64]struct{}, len(cur))
	for i := range cur {
		set[cur[i].Hash] = struct{}{}
	}
	var markers []scrape.Sample
	for i := range prev {
		p := &prev[i]
		if _, ok := set[p.Hash]; !ok {
			markers = append(markers, marker(p, nowMs))
			set[p.Hash] = struct{}{} // one marker per series, even if prev repeated it
		}
	}
	return markers
}

// sameSeries reports whether a and b hold the same series in the same order.
func sameSeries(a, b []scrape.Sample) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Hash != b[i].Hash {
			return false
		}
	}
	return true
}

// Down returns stale markers for every series of the last successful scrape
// and forgets them: the target failed.
func (st *Staleness) Down(nowMs int64) []scrape.Sample {
	if len(st.prev) == 0 {
		return nil
	}
	markers := make([]scrape.Sample, 0, len(st.prev))
	for i := range st.prev {
		markers = append(markers, marker(&st.prev[i], nowMs))
	}
	st.prev = nil
	return markers
}

func marker(p *scrape.Sample, nowMs int64) scrape.Sample {
	m := *p
	m.Value = staleNaN
	m.TimestampMs = nowMs
	m.ExplicitTS = false
	m.ExemplarRef = 0 // a stale marker carries no exemplar
	return m
}
