package config

import "github.com/promfwd/promfwd/sinks"

// ByteSize is a size in bytes written as a plain integer or with a unit:
// 64MiB, 512KiB, 1GiB (powers of 1024) or 1MB, 500kB (powers of 1000). It is
// the sinks' type, so every size key in the file takes the same units.
type ByteSize = sinks.ByteSize

// ParseByteSize parses a size as ByteSize does.
func ParseByteSize(s string) (ByteSize, error) { return sinks.ParseByteSize(s) }
