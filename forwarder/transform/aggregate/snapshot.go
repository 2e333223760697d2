package aggregate

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"

	"github.com/promfwd/promfwd/forwarder/transform"
	"github.com/promfwd/promfwd/scrape"
)

// Snapshot format, version 1: magic "PFAG", version byte, uvarint rules;
// per rule: uvarint fingerprint (of the keys that shape its state),
// varint flushedTo, lastSweep; groups (slot order, a 0 byte for a free
// slot); input series; open windows with their accumulators. Floats are
// their IEEE bits, little-endian.
const (
	snapMagic   = "PFAG"
	snapVersion = 1
)

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
func putS(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func (r *ruleState) snapshot(b []byte) []byte {
	b = binary.AppendUvarint(b, r.c.fingerprint())
	b = binary.AppendVarint(b, r.flushedTo)
	b = binary.AppendVarint(b, r.lastSweep)
	b = binary.AppendUvarint(b, uint64(len(r.groups)))
	for _, g := range r.groups {
		if g == nil {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = putS(b, g.name)
		b = binary.AppendUvarint(b, uint64(len(g.labels)))
		for _, l := range g.labels {
			b = putS(putS(b, l.Name), l.Value)
		}
		b = putF(b, g.total)
		b = binary.AppendVarint(b, g.seen)
	}
	b = binary.AppendUvarint(b, uint64(len(r.series)))
	for h, se := range r.series {
		b = binary.LittleEndian.AppendUint64(b, h)
		b = putF(b, se.last)
		b = binary.AppendVarint(b, se.lastTs)
		b = binary.AppendVarint(b, se.win)
		rt := r.rates[h]
		if rt == nil {
			rt = &noRate
		}
		b = putF(b, rt.winDelta)
		b = binary.AppendVarint(b, rt.winPrevTs)
		b = putF(b, rt.rate)
		b = binary.AppendVarint(b, int64(se.group))
		b = binary.AppendVarint(b, int64(se.seen))
	}
	b = binary.AppendUvarint(b, uint64(len(r.windows)))
	for _, w := range r.windows {
		b = binary.AppendVarint(b, w.start)
		b = binary.AppendUvarint(b, uint64(w.n))
		for gi, ac := range w.accs {
			if ac == nil {
				continue
			}
			b = binary.AppendVarint(b, int64(gi))
			for _, f := range []float64{ac.sum, ac.min, ac.max, ac.last, ac.increase, ac.rate} {
				b = putF(b, f)
			}
			b = binary.AppendVarint(b, ac.count)
			b = binary.AppendVarint(b, ac.series)
			b = binary.AppendVarint(b, ac.lastTs)
			c := byte(0)
			if ac.counted {
				c = 1
			}
			b = append(b, c)
			b = binary.AppendUvarint(b, uint64(len(ac.vals)))
			for _, v := range ac.vals {
				b = putF(b, v)
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

func (d *reader) byte1() byte {
	if len(d.b) < 1 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
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

// Restore replaces the state with a snapshot's. Rules are matched by
// position and fingerprint: a rule whose config changed starts empty. On
// malformed bytes nothing changes and transform.ErrBadSnapshot is returned.
func (a *Aggregator) Restore(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if len(b) < len(snapMagic)+1 || string(b[:len(snapMagic)]) != snapMagic || b[len(snapMagic)] != snapVersion {
		return transform.ErrBadSnapshot
	}
	d := &reader{b: b[len(snapMagic)+1:]}
	n := d.count()
	fresh := make([]*ruleState, len(a.rules))
	for i := 0; i < n && !d.err; i++ {
		var into *ruleState
		if i < len(a.rules) {
			r := a.rules[i]
			into = newRuleState(r.idx, r.c, r.lateness, r.ttl)
		}
		fp := d.uv()
		restored := into.restore(d)
		if into != nil && fp == into.c.fingerprint() {
			fresh[i] = restored
		}
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
func (r *ruleState) restore(d *reader) *ruleState {
	if r == nil {
		r = newRuleState(0, &compiled{}, 0, 0)
	}
	r.flushedTo, r.lastSweep = d.v(), d.v()
	per := 0
	if r.c.outs != nil {
		per = r.perGroup()
	}
	ng := d.count()
	for i := 0; i < ng && !d.err; i++ {
		if d.byte1() == 0 {
			r.groups = append(r.groups, nil)
			r.free = append(r.free, int32(i))
			continue
		}
		g := &group{name: d.s()}
		nl := d.count()
		for j := 0; j < nl && !d.err; j++ {
			g.labels = append(g.labels, scrape.Label{Name: d.s(), Value: d.s()})
		}
		g.total, g.seen = d.f(), d.v()
		r.groups = append(r.groups, g)
		r.groupIdx[groupKey(g.name, g.labels)] = int32(i)
		r.outCount += per
	}
	ns := d.count()
	for i := 0; i < ns && !d.err; i++ {
		h := d.u64()
		se := &inSeries{last: d.f(), lastTs: d.v(), win: d.v()}
		rt := &rateState{winDelta: d.f(), winPrevTs: d.v(), rate: d.f()}
		if r.rate {
			r.rates[h] = rt
		}
		se.group, se.seen = int32(d.v()), uint32(d.v())
		if int(se.group) >= len(r.groups) {
			d.err = true
		}
		r.series[h] = se
	}
	nw := d.count()
	for i := 0; i < nw && !d.err; i++ {
		w := &window{start: d.v()}
		na := d.count()
		for j := 0; j < na && !d.err; j++ {
			gi := int32(d.v())
			ac := &acc{sum: d.f(), min: d.f(), max: d.f(), last: d.f(), increase: d.f(), rate: d.f()}
			ac.count, ac.series, ac.lastTs = d.v(), d.v(), d.v()
			ac.counted = d.byte1() == 1
			nv := d.count()
			for k := 0; k < nv && !d.err; k++ {
				ac.vals = append(ac.vals, d.f())
			}
			if gi < 0 || int(gi) >= len(r.groups) || r.groups[gi] == nil {
				d.err = true
				break
			}
			*w.get(gi) = *ac
		}
		r.windows[w.start] = w
	}
	slices.Sort(r.free)
	return r
}
