package state

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
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
func (d *Dedupe) Snapshot() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	live := make([]dedupeEntry, 0, d.idx.live)
	for _, e := range d.ents {
		if e.sentAt != deadSentAt {
			live = append(live, e)
		}
	}
	slices.SortFunc(live, func(a, b dedupeEntry) int { return cmp.Compare(a.hash, b.hash) })
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
	ents := make([]dedupeEntry, 0, n)
	pos := make(map[uint64]int, n)
	for range n {
		if len(b) < 16 {
			return errBadDedupeState
		}
		h := binary.LittleEndian.Uint64(b)
		e := dedupeEntry{hash: h, bits: binary.LittleEndian.Uint64(b[8:])}
		b = b[16:]
		if e.sentAt, k = binary.Varint(b); k <= 0 {
			return errBadDedupeState
		}
		b = b[k:]
		if e.sentAt == deadSentAt {
			continue // long expired; the marker value is reserved
		}
		if i, dup := pos[h]; dup {
			ents[i] = e // the last one wins, as it did in a map
			continue
		}
		pos[h] = len(ents)
		ents = append(ents, e)
	}
	if len(b) != 0 {
		return errBadDedupeState
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.set(ents, len(ents), deadSentAt+1)
	return nil
}
