// Package idmemo remembers a value computed from a string by the identity
// of the string's bytes (data pointer and length), not its contents. The
// scraper interns names, so every sample of a series (and every series of
// a family) carries the very same string, and a hit is one pointer
// comparison where a map lookup would hash the whole string.
//
// Identity is sound because a slot holds the string it remembers: its bytes
// stay alive and immutable, so another string with the same data pointer
// and length has the same contents.
package idmemo

import (
	"math/bits"
	"unsafe"
)

// Memo is a direct-mapped table of size slots (a power of two). A miss
// costs the check plus a store that evicts the slot's previous string.
type Memo[V any] struct {
	shift uint // 64 - log2(len(slots))
	slots []slot[V]
}

type slot[V any] struct {
	key string
	val V
}

// New returns a memo of size slots; size must be a power of two.
func New[V any](size int) Memo[V] {
	if size <= 0 || size&(size-1) != 0 {
		panic("idmemo: size must be a power of two")
	}
	return Memo[V]{shift: uint(64 - bits.TrailingZeros(uint(size))), slots: make([]slot[V], size)}
}

// at is s's slot: Fibonacci hashing of the address, since short strings
// share 16-byte tiny allocation blocks and the low bits must count too.
func (m *Memo[V]) at(s string) *slot[V] {
	p := uint64(uintptr(unsafe.Pointer(unsafe.StringData(s))))
	return &m.slots[(p*0x9E3779B97F4A7C15)>>m.shift&uint64(len(m.slots)-1)]
}

// Get returns the value remembered for s (this very string), if any. The
// empty string is never remembered.
func (m *Memo[V]) Get(s string) (v V, ok bool) {
	sl := m.at(s)
	if len(s) > 0 && unsafe.StringData(sl.key) == unsafe.StringData(s) && len(sl.key) == len(s) {
		return sl.val, true
	}
	return v, false
}

// Put remembers v for s, evicting whatever shared its slot.
func (m *Memo[V]) Put(s string, v V) {
	if len(s) > 0 {
		*m.at(s) = slot[V]{key: s, val: v}
	}
}

// Clear forgets every value.
func (m *Memo[V]) Clear() { clear(m.slots) }
