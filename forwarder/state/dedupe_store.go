package state

import (
	"math/bits"
	"time"
)

// dedupeEntries holds a Dedupe's entries, one per series in the order the
// series were first seen, as 20 bytes: the series hash, the bits of the
// value sent and the time it was sent in a 32-bit unit (sentClock).
//
// The entries are split into three arrays (a struct of uint64, uint64 and
// int64 was 24 bytes) and live in fixed pages, so growth copies nothing
// and leaves at most one part-filled page, where an appended slice keeps up
// to half its capacity unused after each doubling.
type dedupeEntries struct {
	pages []*dedupePage
	n     int32 // entries in use
}

const (
	dedupePageBits = 10
	dedupePageLen  = 1 << dedupePageBits // 20 KiB per page, a malloc size class
	dedupePageMask = dedupePageLen - 1
)

type dedupePage struct {
	hash [dedupePageLen]uint64
	bits [dedupePageLen]uint64 // math.Float64bits of the value sent
	at   [dedupePageLen]uint32 // sentClock unit; atDead once forgotten
}

// atDead marks an entry whose series was forgotten (a stale marker); live
// entries are sent at unit 1 or later.
const atDead = 0

func (e *dedupeEntries) len() int32 { return e.n }

func (e *dedupeEntries) hash(i int32) uint64 {
	return e.pages[i>>dedupePageBits].hash[i&dedupePageMask]
}

func (e *dedupeEntries) get(i int32) (hash, bits uint64, at uint32) {
	p := e.pages[i>>dedupePageBits]
	k := i & dedupePageMask
	return p.hash[k], p.bits[k], p.at[k]
}

func (e *dedupeEntries) at(i int32) uint32 {
	return e.pages[i>>dedupePageBits].at[i&dedupePageMask]
}

func (e *dedupeEntries) set(i int32, bits uint64, at uint32) {
	p := e.pages[i>>dedupePageBits]
	k := i & dedupePageMask
	p.bits[k], p.at[k] = bits, at
}

func (e *dedupeEntries) kill(i int32) {
	e.pages[i>>dedupePageBits].at[i&dedupePageMask] = atDead
}

// add appends an entry and returns its position.
func (e *dedupeEntries) add(hash, bits uint64, at uint32) int32 {
	i := e.n
	if int(i>>dedupePageBits) == len(e.pages) {
		e.pages = append(e.pages, new(dedupePage))
	}
	p := e.pages[i>>dedupePageBits]
	k := i & dedupePageMask
	p.hash[k], p.bits[k], p.at[k] = hash, bits, at
	e.n++
	return i
}

// keep moves the entries for which ok is true to the front, in their order,
// and frees the pages no longer needed. It works in place: positions only
// move down.
func (e *dedupeEntries) keep(ok func(at uint32) bool) {
	var n int32
	for i := range e.n {
		h, b, at := e.get(i)
		if !ok(at) {
			continue
		}
		if n != i {
			p := e.pages[n>>dedupePageBits]
			k := n & dedupePageMask
			p.hash[k], p.bits[k], p.at[k] = h, b, at
		}
		n++
	}
	e.n = n
	pages := int(n+dedupePageMask) >> dedupePageBits
	clear(e.pages[pages:])
	e.pages = e.pages[:pages]
}

// bytes is the memory the entries hold.
func (e *dedupeEntries) bytes() int {
	return len(e.pages)*int(sizeofDedupePage) + 8*cap(e.pages)
}

const sizeofDedupePage = dedupePageLen * (8 + 8 + 4)

// sentClock turns wall-clock times into the 32-bit units entries keep.
//
// A unit is 2^shift ns, the smallest power of two for which 2^31 units
// span 8 x resend_after: 2 us at 5m, 8 ms at the 30d maximum. Units count
// from base (unit 1 = base; 0 marks a dead entry), and base moves up at
// each sweep to the sweep's cutoff, 3 x resend_after back, below which no
// entry lives. Times are floored to whole units counted from the Unix
// epoch, so rebasing is exact and a time saved and restored stays the same.
//
// The flooring can change a decision only when a series was sent within
// one unit (under 2^-27 of resend_after) of resend_after ago; it then goes out
// that much early, never late.
type sentClock struct {
	shift uint
	base  int64 // unit number (ns >> shift) of unit 1
	set   bool
}

const (
	atMax       = 1<<32 - 1
	atRebaseTop = 1 << 31 // rebase when now reaches this many units
)

func newSentClock(resendAfter time.Duration) sentClock {
	var c sentClock
	if span := 8 * uint64(resendAfter); span > 0 {
		if n := bits.Len64(span); n > 31 {
			c.shift = uint(n - 31)
		}
	}
	return c
}

// rel is the unit of ns relative to base (1 = base); it may fall outside
// the uint32 range.
func (c *sentClock) rel(ns int64) int64 { return ns>>c.shift - c.base + 1 }

// unit is ns's unit, clamped into [1, atMax].
func (c *sentClock) unit(ns int64) uint32 { return clampUnit(c.rel(ns)) }

func clampUnit(u int64) uint32 {
	return uint32(min(max(u, 1), atMax))
}

// ns is the time (a multiple of the unit) a live unit stands for.
func (c *sentClock) ns(at uint32) int64 { return (int64(at) - 1 + c.base) << c.shift }

// outOfRange reports whether base must move before units of now can be
// kept: now is past half the range, or the clock went back by more than
// resendAfter below where a sweep leaves it.
func (c *sentClock) outOfRange(nowNs int64, resendAfter time.Duration) bool {
	if !c.set {
		return true
	}
	u := c.rel(nowNs)
	return u >= atRebaseTop || u <= int64(2*resendAfter)>>c.shift
}
