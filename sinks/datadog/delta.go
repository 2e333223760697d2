package datadog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// counterState is the last observation of one cumulative series.
type counterState struct {
	value float64
	tsMs  int64 // the sample's timestamp
	seen  int64 // wall clock (unix ns) when it was observed, for the TTL
}

// deltaTracker turns cumulative values into per-series deltas, the way
// Datadog's OpenMetrics check submits monotonic counts: no point for the
// first observation, a decrease is a reset (the new value counts from
// zero), state unseen for longer than ttl (wall clock) is forgotten.
//
// The state advances when a batch is encoded, not when it is delivered.
// A request that is later dropped (rejected as permanent, or evicted from a
// full queue) loses exactly the deltas it carried; the next delta starts
// from the new baseline, so nothing is counted twice. To survive a restart
// without loss or double counting, persist SnapshotState together with (and
// after) the queued requests that the encoding produced.
type deltaTracker struct {
	mu        sync.Mutex
	ttl       time.Duration
	series    map[uint64]counterState
	lastSweep time.Time
}

func newDeltaTracker(ttl time.Duration) *deltaTracker {
	return &deltaTracker{ttl: ttl, series: make(map[uint64]counterState)}
}

// observe records v for series h and returns the delta since the previous
// observation and the spacing between the two in ms. ok is false when there
// is nothing to send: first observation, expired state, an out-of-order or
// a repeated sample. The caller holds d.mu.
func (d *deltaTracker) observe(h uint64, v float64, tsMs int64, now time.Time) (delta float64, spacingMs int64, ok bool) {
	nowNs := now.UnixNano()
	prev, found := d.series[h]
	if found && time.Duration(nowNs-prev.seen) > d.ttl {
		found = false
	}
	if found && tsMs < prev.tsMs {
		// Older than what we already counted: sending it would count
		// the interval twice.
		return 0, 0, false
	}
	if found && tsMs == prev.tsMs && v == prev.value {
		prev.seen = nowNs
		d.series[h] = prev
		return 0, 0, false
	}
	d.series[h] = counterState{value: v, tsMs: tsMs, seen: nowNs}
	if !found {
		return 0, 0, false
	}
	if v >= prev.value {
		delta = v - prev.value
	} else {
		delta = v // reset: the counter restarted from zero
	}
	return delta, tsMs - prev.tsMs, true
}

// forget drops the state of a series (stale marker: the series is gone).
// The caller holds d.mu.
func (d *deltaTracker) forget(h uint64) { delete(d.series, h) }

// sweep removes expired entries, at most twice per TTL. The caller holds d.mu.
func (d *deltaTracker) sweep(now time.Time) {
	if now.Sub(d.lastSweep) < d.ttl/2 {
		return
	}
	d.lastSweep = now
	cut := now.Add(-d.ttl).UnixNano()
	for h, st := range d.series {
		if st.seen < cut {
			delete(d.series, h)
		}
	}
}

func (d *deltaTracker) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.series)
}

// State snapshot format, version 1 (all integers little-endian or varint):
//
//	magic "DDCS", version byte, uvarint count, then per series sorted by hash:
//	hash uint64, value float64 bits uint64, varint tsMs, varint seen (unix ns)
const (
	stateMagic   = "DDCS"
	stateVersion = 1
	entryMaxLen  = 8 + 8 + 2*binary.MaxVarintLen64
)

var errBadState = errors.New("datadog: restore state: malformed snapshot")

// snapshot encodes the unexpired state.
func (d *deltaTracker) snapshot(now time.Time) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	cut := now.Add(-d.ttl).UnixNano()
	keys := make([]uint64, 0, len(d.series))
	for h, st := range d.series {
		if st.seen >= cut {
			keys = append(keys, h)
		}
	}
	slices.Sort(keys) // deterministic output
	b := make([]byte, 0, len(stateMagic)+1+binary.MaxVarintLen64+len(keys)*entryMaxLen)
	b = append(b, stateMagic...)
	b = append(b, stateVersion)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, h := range keys {
		st := d.series[h]
		b = binary.LittleEndian.AppendUint64(b, h)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(st.value))
		b = binary.AppendVarint(b, st.tsMs)
		b = binary.AppendVarint(b, st.seen)
	}
	return b
}

// restore replaces the state with a snapshot's. On error the state is unchanged.
func (d *deltaTracker) restore(b []byte) error {
	if len(b) < len(stateMagic)+1 || string(b[:len(stateMagic)]) != stateMagic {
		return errBadState
	}
	if v := b[len(stateMagic)]; v != stateVersion {
		return fmt.Errorf("datadog: restore state: unsupported version %d", v)
	}
	b = b[len(stateMagic)+1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)/18+1) {
		return errBadState
	}
	b = b[k:]
	m := make(map[uint64]counterState, n)
	for range n {
		if len(b) < 16 {
			return errBadState
		}
		h := binary.LittleEndian.Uint64(b)
		st := counterState{value: math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))}
		b = b[16:]
		var k int
		if st.tsMs, k = binary.Varint(b); k <= 0 {
			return errBadState
		}
		b = b[k:]
		if st.seen, k = binary.Varint(b); k <= 0 {
			return errBadState
		}
		b = b[k:]
		m[h] = st
	}
	if len(b) != 0 {
		return errBadState
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.series = m
	return nil
}
