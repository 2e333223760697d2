package forwarder

import (
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
	keys := make([]uint64, 0, len(d.last))
	for h := range d.last {
		keys = append(keys, h)
	}
	slices.Sort(keys)
	b := make([]byte, 0, len(dedupeMagic)+1+binary.MaxVarintLen64+len(keys)*(16+binary.MaxVarintLen64))
	b = append(b, dedupeMagic...)
	b = append(b, dedupeVersion)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, h := range keys {
		e := d.last[h]
		b = binary.LittleEndian.AppendUint64(b, h)
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
	m := make(map[uint64]dedupeEntry, n)
	for range n {
		if len(b) < 16 {
			return errBadDedupeState
		}
		h := binary.LittleEndian.Uint64(b)
		e := dedupeEntry{bits: binary.LittleEndian.Uint64(b[8:])}
		b = b[16:]
		if e.sentAt, k = binary.Varint(b); k <= 0 {
			return errBadDedupeState
		}
		b = b[k:]
		m[h] = e
	}
	if len(b) != 0 {
		return errBadDedupeState
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = m
	return nil
}
