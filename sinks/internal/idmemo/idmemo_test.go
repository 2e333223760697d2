package idmemo

import (
	"strings"
	"testing"
)

// A memo answers for the very string it was given, never for an equal
// string elsewhere in memory, nor for a prefix sharing its bytes.
func TestIdentity(t *testing.T) {
	m := New[int](16)
	a := strings.Repeat("x", 8)
	b := strings.Repeat("x", 8) // equal contents, other bytes
	m.Put(a, 1)
	for _, tc := range []struct {
		name   string
		s      string
		want   int
		wantOK bool
	}{
		{"same string", a, 1, true},
		{"a copy of the string header", a[:], 1, true},
		{"equal contents elsewhere", b, 0, false},
		{"a prefix of the same bytes", a[:4], 0, false},
		{"empty", "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := m.Get(tc.s); got != tc.want || ok != tc.wantOK {
				t.Fatalf("Get = %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
	m.Put("", 7)
	if _, ok := m.Get(""); ok {
		t.Fatal("the empty string was remembered")
	}
	m.Clear()
	if _, ok := m.Get(a); ok {
		t.Fatal("Clear kept a value")
	}
}

// Strings 16 bytes apart in one block (as tiny allocations are) mostly get
// slots of their own: a slot formula that ignored the low address bits
// would put them all in one.
func TestSlotsSpread(t *testing.T) {
	block := strings.Repeat("abcdefghijklmnop", 64)
	m := New[int](1024)
	hits := 0
	for i := range 64 {
		s := block[i*16 : i*16+16]
		m.Put(s, i)
	}
	for i := range 64 {
		if v, ok := m.Get(block[i*16 : i*16+16]); ok && v == i {
			hits++
		}
	}
	if hits < 56 { // direct-mapped: a few may share a slot
		t.Fatalf("%d of 64 strings found again in a 1024-slot memo", hits)
	}
}

func TestNewRejectsSize(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New(3) did not panic")
		}
	}()
	New[int](3)
}
