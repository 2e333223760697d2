package remotewrite

import (
	"math/bits"
	"unsafe"
)

// Slots of the encoder's memos (powers of two). Expositions have few
// distinct label names, so a table holds them all. Metric names are many
// (thousands across targets) but arrive in runs, a family's series one
// after another, so a few slots catch nearly every sample without a big
// table to thrash (a miss costs the check plus a pointer store).
const (
	labelMemoSize  = 1024
	metricMemoSize = 64
)

// nameMemo remembers the escaped form of recently seen names by the
// identity of the string's bytes. The scraper interns names, so every
// sample of a series (and every series with the same label name) carries
// the very same string, and a hit is one pointer comparison instead of a
// byte-by-byte charset check of every label name of every sample (about
// 5% of promfwd's CPU at 200k series per scrape, perf of promfwd-bench).
//
// Identity is sound because the slot holds the string it remembers: its
// bytes stay alive and immutable, so another string with the same data
// pointer and length has the same contents.
type nameMemo struct {
	colonOK bool
	shift   uint           // 64 - log2(len(slots))
	slots   []nameMemoSlot // len is a power of two
}

func newNameMemo(size int, colonOK bool) nameMemo {
	return nameMemo{colonOK: colonOK, shift: uint(64 - bits.TrailingZeros(uint(size))), slots: make([]nameMemoSlot, size)}
}

type nameMemoSlot struct {
	name, escaped string
}

// escape returns escape(s, m.colonOK), remembering it.
func (m *nameMemo) escape(s string) string {
	if s == "" {
		return s
	}
	// Fibonacci hashing of the address: short names share 16-byte tiny
	// allocation blocks, so the low bits must count too.
	p := uint64(uintptr(unsafe.Pointer(unsafe.StringData(s))))
	slot := &m.slots[(p*0x9E3779B97F4A7C15)>>m.shift&uint64(len(m.slots)-1)]
	if unsafe.StringData(slot.name) == unsafe.StringData(s) && len(slot.name) == len(s) {
		return slot.escaped
	}
	esc := escape(s, m.colonOK)
	*slot = nameMemoSlot{name: s, escaped: esc}
	return esc
}
