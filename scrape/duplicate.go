package scrape

// Dropped counts the samples of one scrape that were parsed but left out,
// by reason. Prometheus' scrape drops the same samples and keeps the rest.
type Dropped struct {
	// Duplicate: the series was already sampled earlier in the exposition
	// at the same timestamp (with no timestamps: at all). The first is
	// kept: a remote-write receiver rejects the whole request otherwise.
	Duplicate int
	// OutOfOrder: the series was already sampled earlier in the
	// exposition at a later timestamp.
	OutOfOrder int
	// OutOfBounds: an OpenMetrics timestamp beyond int64 milliseconds.
	OutOfBounds int
}

// Total is the number of samples dropped for any reason.
func (d Dropped) Total() int { return d.Duplicate + d.OutOfOrder + d.OutOfBounds }

// Dropped returns what the last successful Parse left out.
func (p *Parser) Dropped() Dropped { return p.dropped }

// repeated reports whether a sample of series h at ts repeats one this
// Parse already emitted (same series, same or an older timestamp), and
// counts it if so. A text line the line cache knows keeps that state in
// its entry, next to the data the hit already touched, so a steady
// exposition pays no extra lookup; only series written in two different
// ways (label order, spacing, "1" vs "1.0" bounds) and protobuf samples go
// through a per-Parse map.
func (p *Parser) repeated(h uint64, ts int64) bool {
	c := &p.lines
	switch {
	case p.lc.hit:
		if e := &c.ents[p.lc.ent]; !e.shared {
			return e.gen == c.gen && p.countRepeat(ts, e.lastTS)
		}
	case p.lc.armed:
		e, other := c.sameSeries(&p.lc, h)
		switch {
		case e == nil:
			return false // the first text of a new series
		case !other && !e.shared:
			return e.gen == c.gen && p.countRepeat(ts, e.lastTS)
		case other && !e.shared:
			// A second text of one series: from now on both go through
			// the map, which takes over what the first one did so far.
			if e.gen == c.gen {
				p.seen.note(h, e.lastTS)
			}
			e.shared = true
		}
		p.lc.shared = true
	}
	last, ok := p.seen.swap(h, ts)
	return ok && p.countRepeat(ts, last)
}

// countRepeat counts a sample at ts that follows one of its series at last,
// and reports whether it is dropped.
func (p *Parser) countRepeat(ts, last int64) bool {
	switch {
	case ts == last:
		p.dropped.Duplicate++
	case ts < last:
		p.dropped.OutOfOrder++
	default:
		return false
	}
	return true
}

// seriesTimes maps a series hash to the latest timestamp emitted for it in
// this Parse. Its memory is kept across scrapes.
type seriesTimes struct {
	m map[uint64]int64
}

func (s *seriesTimes) begin() {
	if len(s.m) > 0 {
		clear(s.m)
	}
}

// swap records ts for h unless an equal or later time is recorded, and
// returns what was recorded before.
func (s *seriesTimes) swap(h uint64, ts int64) (last int64, ok bool) {
	if s.m == nil {
		s.m = make(map[uint64]int64)
	}
	last, ok = s.m[h]
	if !ok || ts > last {
		s.m[h] = ts
	}
	return last, ok
}

// note records ts for h unless an equal or later time is recorded.
func (s *seriesTimes) note(h uint64, ts int64) { s.swap(h, ts) }
