// Package jsonw appends JSON strings and numbers to byte slices without
// reflection or allocation: the shared hot path of the JSON-speaking sinks
// (hec, datadog, stdout). Output matches encoding/json byte for byte.
package jsonw

import (
	"math"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendStringContent(dst, s)
	return append(dst, '"')
}

// AppendStringContent appends the escaped content of a JSON string, without
// the quotes: quotes, backslashes and control characters are escaped,
// invalid UTF-8 becomes U+FFFD and U+2028/U+2029 are escaped, as
// encoding/json does, so the receiver always gets valid JSON.
func AppendStringContent(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}

// AppendFloat appends a finite f as a JSON number with the shortest
// representation that parses back to the same float64, formatted as
// encoding/json does (exponent only below 1e-6 or from 1e21). Callers handle
// NaN and ±Inf, which JSON cannot carry.
func AppendFloat(dst []byte, f float64) []byte {
	// Integral values (most counters) below 10^15 in magnitude (exact in a
	// float64, whose integers are exact up to 2^53) print as their exact
	// digits, which AppendInt writes at a fraction of the cost of the
	// shortest-float search. Zero keeps the slow path for -0.
	if f > -1e15 && f < 1e15 {
		if i := int64(f); float64(i) == f && i != 0 {
			return strconv.AppendInt(dst, i, 10)
		}
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Turn e-07 into e-7, as encoding/json does.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}
