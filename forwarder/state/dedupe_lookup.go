package state

// The index from series hash to entry (dedupe_index.go, ~5.5 bytes per
// series) is only needed when a sample is not the entry after the last one
// used (Dedupe.hint). A target repeats its series in the same order every
// scrape, so in steady state that happens only at the start of each batch,
// where the hint still points after another source's batch. Those starts
// are remembered in a small map instead, and the index is dropped at a
// sweep when no lookup needed it since the sweep before (a whole
// resend_after of steady scrapes). It is rebuilt from the entries by the
// first lookup that needs it: a new series, a reordered scrape, a stale
// marker, or a restored snapshot (whose entries are in hash order).
//
// Neither shortcut can give a wrong answer: a live series has exactly one
// live entry, and every candidate position is checked against the entry's
// hash and liveness before it is used.

// maxStarts bounds the map of batch starts (about 40 bytes each); it is
// emptied when full, and the index answers for what it no longer holds.
const maxStarts = 1024

// find returns the position of h's live entry, or -1.
func (d *Dedupe) find(h uint64) int32 {
	if i := d.hint; d.liveAt(i, h) {
		d.hint = i + 1
		return i
	}
	if i, ok := d.starts[h]; ok && d.liveAt(i, h) {
		d.hint = i + 1
		return i
	}
	i := d.lookup(h)
	if i >= 0 {
		d.hint = i + 1
		d.rememberStart(h, i)
	}
	return i
}

// liveAt reports whether entry i is h's live entry.
func (d *Dedupe) liveAt(i int32, h uint64) bool {
	return i >= 0 && i < d.ents.len() && d.ents.hash(i) == h && d.ents.at(i) != atDead
}

// lookup asks the index, building it first if it was dropped.
func (d *Dedupe) lookup(h uint64) int32 {
	d.ensureIndex()
	d.lookups++
	return d.idx.find(&d.ents, h)
}

// ensureIndex builds the index from the entries if it was dropped.
func (d *Dedupe) ensureIndex() {
	if !d.indexed {
		d.idx.rebuild(&d.ents)
		d.indexed = true
	}
}

// dropIndex frees the index; the entries stay.
func (d *Dedupe) dropIndex() {
	d.idx, d.indexed = seriesIndex{seed: d.idx.seed}, false
}

func (d *Dedupe) rememberStart(h uint64, i int32) {
	if d.starts == nil || len(d.starts) >= maxStarts {
		d.starts = make(map[uint64]int32)
	}
	d.starts[h] = i
}

// afterSweep drops the index when nothing looked it up since the last
// sweep.
func (d *Dedupe) afterSweep() {
	if d.indexed && d.lookups == 0 {
		d.dropIndex()
	}
	d.lookups = 0
}
