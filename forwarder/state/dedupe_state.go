package state

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Dedupe snapshot format, version 1:
//
//	magic "PFDD", version byte, uvarint count, then per series sorted by
//	hash: hash uint64 LE, value bits uint64 LE, varint sentAt (unix ns)
const (
	dedupeMagic   = "PFDD"
	dedupeVersion = 1
)

var errBadDedupeState = errors.New("dedupe: restore: malformed snapshot")

// Snapshot encodes the last-sent values and times (versioned binary).
// Times are whole units of the dedupe's clock (sentClock), which version 1
// carries as nanoseconds, so older and newer builds read each other's files.
func (d *Dedupe) Snapshot() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	type saved struct {
		hash, bits uint64
		sentAt     int64
	}
	live := make([]saved, 0, d.live)
	for i := range d.ents.len() {
		if h, bits, at := d.ents.get(i); at != atDead {
			live = append(live, saved{h, bits, d.t.ns(at)})
		}
	}
	slices.SortFunc(live, func(a, b saved) int { return cmp.Compare(a.hash, b.hash) })
	b := make([]byte, 0, len(dedupeMagic)+1+binary.MaxVarintLen64+len(live)*(16+binary.MaxVarintLen64))
	b = append(b, dedupeMagic...)
	b = append(b, dedupeVersion)
	b = binary.AppendUvarint(b, uint64(len(live)))
	for _, e := range live {
		b = binary.LittleEndian.AppendUint64(b, e.hash)
		b = binary.LittleEndian.AppendUint64(b, e.bits)
		b = binary.AppendVarint(b, e.sentAt)
	}
	return b
}

// Restore replaces the remembered values with a snapshot's. Expiry stays by
// wall clock: an entry sent longer than resend_after ago is resent at the
// next scrape. On error nothing changes.
func (d *Dedupe) Restore(b []byte) error {
	if len(b) < len(dedupeMagic)+1 || string(b[:len(dedupeMagic)]) != dedupeMagic {
		return errBadDedupeState
	}
	if v := b[len(dedupeMagic)]; v != dedupeVersion {
		return fmt.Errorf("dedupe: restore: unsupported version %d", v)
	}
	b = b[len(dedupeMagic)+1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)/17+1) {
		return errBadDedupeState
	}
	b = b[k:]
	// Entries older than 4 x resend_after (which the first sweep drops)
	// start at unit 1; see sentClock.
	t := newSentClock(d.resendAfter)
	t.base, t.set = d.clock.Now().Add(-4*d.resendAfter).UnixNano()>>t.shift, true
	var ents dedupeEntries
	pos := make(map[uint64]int32, n)
	for range n {
		if len(b) < 16 {
			return errBadDedupeState
		}
		h := binary.LittleEndian.Uint64(b)
		bits := binary.LittleEndian.Uint64(b[8:])
		b = b[16:]
		sentAt, k := binary.Varint(b)
		if k <= 0 {
			return errBadDedupeState
		}
		b = b[k:]
		if sentAt == math.MinInt64 {
			continue // long expired; the marker value was reserved
		}
		if i, dup := pos[h]; dup {
			ents.set(i, bits, t.unit(sentAt)) // the last one wins, as it did in a map
			continue
		}
		pos[h] = ents.add(h, bits, t.unit(sentAt))
	}
	if len(b) != 0 {
		return errBadDedupeState
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ents, d.t, d.dead, d.live, d.hint, d.starts = ents, t, 0, int(ents.len()), 0, nil
	d.dropIndex() // built by the first lookup (dedupe_lookup.go)
	return nil
}
