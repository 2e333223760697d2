package sinks

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ByteSize is a size in bytes written as a plain integer or with a unit:
// 64MiB, 512KiB, 1GiB (powers of 1024) or 1MB, 500kB (powers of 1000).
// Every byte-size key of a sink's own config uses it, so all accept the
// same units as the forwarder's (forwarder.ByteSize parses identically).
type ByteSize int64

type byteUnit struct {
	suffix string
	mult   int64
}

// byteUnits lists the accepted suffixes, longest first.
func byteUnits() []byteUnit {
	return []byteUnit{
		// Longest suffixes first so "MiB" is not read as "B".
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"B", 1},
	}
}

// ParseByteSize parses "64MiB", "1MB", "1024" or "0".
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits() {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || t == "" || t[0] == '+' || t[0] == '-' {
		return 0, fmt.Errorf("invalid byte size %q (want an integer, optionally with B, kB, MB, GB, TB, KiB, MiB, GiB or TiB)", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("byte size %q is too large", s)
	}
	return ByteSize(n * mult), nil
}

// String renders the size with the unit that gives the smallest exact
// number, binary units winning ties: 67108864 is "64MiB", 1000000 is "1MB".
func (b ByteSize) String() string {
	best, suffix := int64(b), ""
	if b > 0 {
		for _, u := range byteUnits() {
			if u.mult > 1 && int64(b)%u.mult == 0 && int64(b)/u.mult < best {
				best, suffix = int64(b)/u.mult, u.suffix
			}
		}
	}
	return strconv.FormatInt(best, 10) + suffix
}

// UnmarshalYAML accepts an integer or a string with a unit.
func (b *ByteSize) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	v, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalYAML renders the size as String does; a size without a unit stays
// a YAML integer.
func (b ByteSize) MarshalYAML() (any, error) {
	s := b.String()
	if s == strconv.FormatInt(int64(b), 10) {
		return int64(b), nil
	}
	return s, nil
}
