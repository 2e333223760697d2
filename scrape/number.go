package scrape

import (
	"errors"
	"math"
	"strconv"
)

// errNumberSyntax is a number that Go accepts but the exposition formats do
// not: digit separators (1_000) and hexadecimal floats (0x1p-3).
var errNumberSyntax = errors.New("unsupported character in number")

// parseNumber parses a sample or exemplar value, or an OpenMetrics
// timestamp, exactly as Prometheus' parsers (textparse and expfmt) do:
// strconv.ParseFloat, but with 'p', 'P' and '_' refused first, so Go-only
// syntax is an error instead of a different number. What remains is the
// formats' decimal syntax plus the case-insensitive Inf, Infinity and NaN
// spellings both reference parsers accept.
func parseNumber(b []byte) (float64, error) {
	for _, c := range b {
		if c == 'p' || c == 'P' || c == '_' {
			return 0, errNumberSyntax
		}
	}
	return strconv.ParseFloat(string(b), 64)
}

// parseOMTimestamp converts OpenMetrics float seconds to milliseconds,
// rounding to the nearest ms (1700000000.123 is not exact in binary). ok is
// false for what is not a timestamp at all (Go-only syntax, NaN, ±Inf),
// which fails the scrape as in Prometheus; inRange is false for a finite
// timestamp beyond int64 milliseconds, which costs only its sample (Prometheus
// converts it to an out-of-bounds time and its storage drops the sample).
func parseOMTimestamp(b []byte) (ms int64, ok, inRange bool) {
	if len(b) == 0 {
		return 0, false, false
	}
	f, err := parseNumber(b)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, false
	}
	m := math.Round(f * 1000)
	if m >= math.MaxInt64 || m < math.MinInt64 {
		return 0, true, false
	}
	return int64(m), true, true
}
