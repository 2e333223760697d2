package aggregate

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/promfwd/promfwd/forwarder/transform"
)

// Snapshot format, version 2: magic "PFAG", version byte, uvarint rules;
// per rule: uvarint fingerprint (of the keys that shape its state),
// uvarint shape (layout columns, counter and rate bits: the rest of the
// rule reads without its config), varint flushedTo, lastSweep; groups in
// slot order (packed key, "" for a free slot; total; uvarint newest
// window); input series (hash, group, newest window, counter baseline and
// rate state where the shape has them); open windows (start, then per
// present group: slot, flags, its columns, last timestamp and values where
// the shape has them). Floats are their IEEE bits, little-endian.
// Version 1 (before the compact state) still loads: snapshot_v1.go.
const (
	snapMagic   = "PFAG"
	snapVersion = 2
)

// Shape bits beyond the layout's columns.
const (
	shapeCounter = 1 << 16
	shapeRate    = 1 << 17
)

func (r *ruleState) shape() uint64 {
	m := uint64(r.lay.mask())
	if r.c.counter {
		m |= shapeCounter
	}
	if r.rate {
		m |= shapeRate
	}
	return m
}

var _ transform.Stage = (*Aggregator)(nil)

// fingerprint identifies the rule's state shape: a snapshot of a rule with
// other match, interval, grouping or outputs is not restored into it.
func (c *compiled) fingerprint() uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00%s", c.Match, c.Interval, strings.Join(c.by, ","),
		strings.Join(c.without, ","), strings.Join(c.Outputs, ","))
	return h.Sum64()
}

// Snapshot encodes every rule's baselines, totals and open windows.
func (a *Aggregator) Snapshot() []byte {
	b := append([]byte(snapMagic), snapVersion)
	b = binary.AppendUvarint(b, uint64(len(a.rules)))
	for _, r := range a.rules {
		b = r.snapshot(b)
	}
	return b
}

func putF(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

func (r *ruleState) snapshot(b []byte) []byte {
	b = binary.AppendUvarint(b, r.c.fingerprint())
	b = binary.AppendUvarint(b, r.shape())
	b = binary.AppendVarint(b, r.flushedTo)
	b = binary.AppendVarint(b, r.lastSweep)
	b = binary.AppendUvarint(b, uint64(len(r.groups)))
	wins := r.groupWins()
	for gi, g := range r.groups {
		if g.at == 0 {
			b = append(b, 0) // ""
			continue
		}
		name, lb := r.groupName(int32(gi))
		b = binary.AppendUvarint(b, uint64(storedLen(len(name))+len(lb)))
		b = append(appendString(b, name), lb...) // appendKey's form
		b = putF(b, g.total)
		b = binary.AppendUvarint(b, uint64(wins[gi]))
	}
	b = binary.AppendUvarint(b, uint64(r.numSeries()))
	for si := range uint32(r.core.len()) {
		se := r.core.at(si)
		if se.group == slotFree {
			continue
		}
		b = binary.LittleEndian.AppendUint64(b, se.hash)
		b = binary.AppendVarint(b, int64(se.group))
		b = binary.AppendUvarint(b, uint64(se.win))
		if r.c.counter {
			ctr := r.ctr.at(si)
			b = putF(b, ctr.last)
			b = binary.AppendVarint(b, ctr.lastTs)
		}
		if r.rate {
			rt := r.rates.at(si)
			b = putF(b, rt.winDelta)
			b = binary.AppendVarint(b, rt.winPrevTs)
			b = putF(b, rt.rate)
		}
	}
	l := &r.lay
	b = binary.AppendUvarint(b, uint64(len(r.windows)))
	for _, w := range r.windows {
		b = binary.AppendVarint(b, w.start)
		b = binary.AppendUvarint(b, uint64(w.n))
		for gi, fl := range w.flags {
			if fl&flagPresent == 0 {
				continue
			}
			b = binary.AppendUvarint(b, uint64(gi))
			b = append(b, fl)
			for _, f := range w.f[gi*l.width : (gi+1)*l.width] {
				b = putF(b, f)
			}
			if l.ts {
				b = binary.AppendVarint(b, w.ts[gi])
			}
			if l.vals {
				b = binary.AppendUvarint(b, uint64(len(w.vals[gi])))
				for _, v := range w.vals[gi] {
					b = putF(b, v)
				}
			}
		}
	}
	return b
}

// reader decodes a snapshot; the first error sticks.
type reader struct {
	b   []byte
	err bool
}

func (d *reader) uv() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *reader) v() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *reader) u64() uint64 {
	if len(d.b) < 8 {
		d.err, d.b = true, nil
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *reader) f() float64 { return math.Float64frombits(d.u64()) }

func (d *reader) fail() { d.err, d.b = true, nil }

// i32 and u32 read a varint and a uvarint that must fit.
func (d *reader) i32() int32 {
	v := d.v()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail()
	}
	return int32(v)
}

func (d *reader) u32() uint32 {
	v := d.uv()
	if v > math.MaxUint32 {
		d.fail()
	}
	return uint32(v)
}

func (d *reader) byte1() byte {
	if len(d.b) < 1 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// bytes reads a length-prefixed byte string (a view into the snapshot).
func (d *reader) bytes() []byte {
	n := d.uv()
	if n > uint64(len(d.b)) {
		d.err, d.b = true, nil
		return nil
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}

func (d *reader) s() string {
	n := d.uv()
	if n > uint64(len(d.b)) {
		d.err, d.b = true, nil
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// count reads a length and checks it against what is left (each element
// takes at least one byte).
func (d *reader) count() int {
	n := d.uv()
	if n > uint64(len(d.b)) {
		d.err, d.b = true, nil
		return 0
	}
	return int(n)
}

// Restore replaces the state with a snapshot's (version 2, or 1 as
// written before the compact state). Rules are matched by position and
// fingerprint: a rule whose config changed starts empty. On malformed bytes
// nothing changes and transform.ErrBadSnapshot is returned.
func (a *Aggregator) Restore(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if len(b) < len(snapMagic)+1 || string(b[:len(snapMagic)]) != snapMagic {
		return transform.ErrBadSnapshot
	}
	version := b[len(snapMagic)]
	if version != 1 && version != snapVersion {
		return transform.ErrBadSnapshot
	}
	d := &reader{b: b[len(snapMagic)+1:]}
	n := d.count()
	fresh := make([]*ruleState, len(a.rules))
	for i := 0; i < n && !d.err; i++ {
		fp := d.uv()
		var into *ruleState
		if i < len(a.rules) && fp == a.rules[i].c.fingerprint() {
			r := a.rules[i]
			into = newRuleState(r.idx, r.c, r.lateness, r.ttl)
		}
		if version == 1 {
			into.restoreV1(d) // snapshot_v1.go
		} else {
			into.restore(d)
		}
		fresh[i] = into
	}
	if d.err || len(d.b) != 0 {
		return transform.ErrBadSnapshot
	}
	for i, r := range fresh {
		if r != nil {
			a.rules[i] = r
		}
	}
	return nil
}

// restore reads one rule's state into r (nil r: read and discard).
func (r *ruleState) restore(d *reader) {
	shape := d.uv()
	if r == nil {
		c := &compiled{counter: shape&shapeCounter != 0}
		c.Interval = time.Second
		r = newRuleState(0, c, 0, 0)
		r.rate, r.lay = shape&shapeRate != 0, layoutOf(uint(shape&0xffff))
	} else if shape != r.shape() {
		d.fail() // same fingerprint, other shape: not our bytes
		return
	}
	r.flushedTo, r.lastSweep = d.v(), d.v()
	ng := d.count()
	for i := 0; i < ng && !d.err; i++ {
		key := d.bytes()
		if len(key) == 0 {
			r.addFree()
			continue
		}
		total := d.f()
		d.u32() // its newest window: derived from its series
		r.restoreGroup(d, key, total)
	}
	ns := d.count()
	for i := 0; i < ns && !d.err; i++ {
		h := d.u64()
		si, created := r.slot(h)
		if !created {
			d.fail()
		}
		*r.core.at(si) = seriesCore{hash: h, group: d.i32(), win: d.u32()}
		if r.c.counter {
			*r.ctr.at(si) = counterState{last: d.f(), lastTs: d.v()}
		}
		if r.rate {
			*r.rates.at(si) = rateState{winDelta: d.f(), winPrevTs: d.v(), rate: d.f()}
		}
		r.checkSeries(d, si)
	}
	l := &r.lay
	r.restoreWindows(d, func() int32 { return int32(d.u32()) }, func(w *window, gi int32, base int) {
		w.flags[gi] = d.byte1() | flagPresent
		for k := range l.width {
			w.f[base+k] = d.f()
		}
		if l.ts {
			w.ts[gi] = d.v()
		}
		if l.vals {
			nv := d.count()
			for k := 0; k < nv && !d.err; k++ {
				w.vals[gi] = append(w.vals[gi], d.f())
			}
		}
	})
	slices.Sort(r.free)
}

// restoreGroup adds a group read from a snapshot (its slot is the next),
// its key in appendKey's form.
func (r *ruleState) restoreGroup(d *reader, key []byte, total float64) {
	name, ls, ok := decodeKey(string(key))
	if !ok || len(r.keys)+len(key) > maxKeyBytes {
		d.fail()
		return
	}
	id, known := r.nameID(name)
	if !known {
		id = r.addName(name)
	}
	r.keyBuf = appendIDKey(r.keyBuf[:0], id, ls)
	h := r.hashOf(r.keyBuf)
	if _, dup := r.lookup(r.keyBuf, h); dup {
		d.fail()
		return
	}
	gi := int32(len(r.groups))
	r.groups = append(r.groups, group{})
	r.put(gi, r.keyBuf, h)
	r.groups[gi].total = total
}

// groupWins is each group's newest window, the newest of its series' (the
// snapshot's field, which version 2 readers before the group store use for
// expiry).
func (r *ruleState) groupWins() []uint32 {
	wins := make([]uint32, len(r.groups))
	for si := range uint32(r.core.len()) {
		if se := r.core.at(si); se.group >= 0 {
			wins[se.group] = max(wins[se.group], se.win)
		}
	}
	return wins
}

// checkSeries rejects a series whose group is not a live one.
func (r *ruleState) checkSeries(d *reader, si uint32) {
	g := r.core.at(si).group
	if g < -1 || int(g) >= len(r.groups) || g >= 0 && !r.live(g) {
		d.fail()
	}
}
