package forwarder

import (
	"math"

	"github.com/promfwd/promfwd/scrape"
)

// staleness tracks the series a source exposed in its last successful
// scrape, to emit Prometheus stale markers for series that disappear or for
// every series when the target goes down (as Prometheus itself does).
// One per source; used only from that source's scrape job.
type staleness struct {
	gen  uint32
	seen map[uint64]uint32 // series hash -> generation last seen
	prev []scrape.Sample   // last successful scrape's samples (read-only)
}

func newStaleness() *staleness {
	return &staleness{seen: make(map[uint64]uint32)}
}

var staleNaN = math.Float64frombits(scrape.StaleNaN)

// observe records a successful scrape and returns stale markers (stamped
// nowMs) for the series of the previous scrape that are absent now.
func (st *staleness) observe(cur []scrape.Sample, nowMs int64) []scrape.Sample {
	st.gen++
	for i := range cur {
		st.seen[cur[i].Hash] = st.gen
	}
	var markers []scrape.Sample
	for i := range st.prev {
		p := &st.prev[i]
		if g, ok := st.seen[p.Hash]; ok && g != st.gen {
			markers = append(markers, marker(p, nowMs))
			delete(st.seen, p.Hash)
		}
	}
	st.prev = cur
	return markers
}

// down returns stale markers for every series of the last successful scrape
// and forgets them: the target failed.
func (st *staleness) down(nowMs int64) []scrape.Sample {
	if len(st.prev) == 0 {
		return nil
	}
	markers := make([]scrape.Sample, 0, len(st.prev))
	for i := range st.prev {
		markers = append(markers, marker(&st.prev[i], nowMs))
	}
	st.prev = nil
	clear(st.seen)
	return markers
}

func marker(p *scrape.Sample, nowMs int64) scrape.Sample {
	m := *p
	m.Value = staleNaN
	m.TimestampMs = nowMs
	m.ExplicitTS = false
	return m
}
