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
// counts it if so. While every text line so far was the line cache's hit
// at its own position, none can repeat and nothing is looked up. After
// that, a series of the last scrape is checked against its mark (the
// index of its latest sample in this Parse, whichever text it came from),
// and any other series (new ones, protobuf) goes through a per-Parse map.
func (p *Parser) repeated(h uint64, ts int64) bool {
	c := &p.lines
	if c.inOrder(&p.lc) {
		return false
	}
	if j := c.seriesPos(&p.lc, h); j >= 0 {
		if k := int(c.mark[j]) - 1; k >= 0 && k < len(p.out) && p.out[k].Hash == h {
			drop := p.countRepeat(ts, p.out[k].TimestampMs)
			c.again = c.again || !drop // kept: the series has two samples
			return drop
		}
		return false
	}
	last, ok := p.seen.swap(h, ts)
	drop := ok && p.countRepeat(ts, last)
	c.again = c.again || ok && !drop
	return drop
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
// this Parse. Its memory is kept across scrapes while they fill it about as
// much (protobuf), and dropped once it is mostly unused (a text target's
// first scrape fills it with every series, later ones with new series only).
type seriesTimes struct {
	m    map[uint64]int64
	peak int // the most entries m has held
}

func (s *seriesTimes) begin() {
	n := len(s.m)
	s.peak = max(s.peak, n)
	switch {
	case s.peak > 2*n+1024:
		s.m, s.peak = nil, 0
	case n > 0:
		clear(s.m)
	}
}

// seenKeepMax is the most entries a map is kept with after a Parse whose
// series the line cache will know next time.
const seenKeepMax = 1024

// end closes a Parse. When the line cache holds the Parse's series (text
// or OpenMetrics, no rewriter), the next Parse checks them through the
// cache and the map would hold only its new series: one that the Parse
// filled (every series, on a target's first scrape) is dropped now rather
// than at the Parse after next, which took ~22 MB off the start-up peak at
// 1M series. Protobuf Parses and rewritten ones fill it every time and keep
// it (begin decides).
func (s *seriesTimes) end(cached bool) {
	if cached && len(s.m) > seenKeepMax {
		s.m, s.peak = nil, 0
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
