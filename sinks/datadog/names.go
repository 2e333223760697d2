package datadog

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/promfwd/promfwd/scrape"
)

// maxNameLen is Datadog's limit on metric name length.
const maxNameLen = 200

// escapeName maps s onto Datadog's metric name charset: ASCII letters,
// digits, '_' and '.', starting with a letter, at most 200 characters.
// Other characters become '_'; leading characters that are not letters are
// removed (a leading '_' would still be invalid). It returns "" when nothing
// valid is left.
func escapeName(s string) string {
	i := 0
	for i < len(s) && !isLetter(s[i]) {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	s = s[i:]
	if s == "" {
		return ""
	}
	valid := true
	for j := 0; j < len(s); j++ {
		if !isNameChar(s[j]) {
			valid = false
			break
		}
	}
	if valid {
		if len(s) > maxNameLen {
			return s[:maxNameLen]
		}
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < utf8.RuneSelf && isNameChar(byte(r)) {
			b.WriteByte(byte(r))
		} else {
			b.WriteByte('_')
		}
		if b.Len() == maxNameLen {
			break
		}
	}
	return b.String()
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func isNameChar(c byte) bool {
	return isLetter(c) || (c >= '0' && c <= '9') || c == '_' || c == '.'
}

// Datadog's OpenMetrics check names histogram and summary parts
// <family>.count, <family>.sum and <family>.quantile; buckets travel in
// <family>.count with an upper_bound tag.
const (
	suffixCount    = ".count"
	suffixSum      = ".sum"
	suffixQuantile = ".quantile"
)

// baseName is the name a sample is sent under, before the namespace and
// escaping: the sample name for plain series, <family><suffix> for the
// parts of a histogram or summary.
func baseName(s *scrape.Sample) string {
	var suffix, trim string
	switch s.Kind {
	case scrape.KindHistogramBucket:
		suffix, trim = suffixCount, "_bucket"
	case scrape.KindHistogramCount, scrape.KindSummaryCount:
		suffix, trim = suffixCount, "_count"
	case scrape.KindHistogramSum, scrape.KindSummarySum:
		suffix, trim = suffixSum, "_sum"
	case scrape.KindSummaryQuantile:
		return family(s, "") + suffixQuantile
	default:
		return s.Name
	}
	if s.Meta != nil && s.Meta.Type == scrape.TypeGaugeHistogram {
		// OpenMetrics gauge histograms name their parts _gcount/_gsum.
		if trim != "_bucket" {
			trim = "_g" + trim[1:]
		}
	}
	return family(s, trim) + suffix
}

// family is the metric family's name: the declared one when the parser
// kept it, otherwise the sample name without its part suffix.
func family(s *scrape.Sample, trim string) string {
	if s.Meta != nil && s.Meta.Family != "" {
		return s.Meta.Family
	}
	return strings.TrimSuffix(s.Name, trim)
}

// formatBound renders an le or quantile label value as Datadog's checks do
// (Python's str(float)): "1.0", "0.005", "1e-05", "1e+16". The +Inf bucket
// is "none". A value that is not a number is passed through unchanged.
func formatBound(v string) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	if math.IsInf(f, 1) {
		return "none"
	}
	if math.IsInf(f, -1) {
		return "-inf"
	}
	if f == 0 {
		return "0.0"
	}
	exp := int(math.Floor(math.Log10(math.Abs(f))))
	if exp < -4 || exp >= 16 {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	out := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(out, ".") {
		out += ".0"
	}
	return out
}
