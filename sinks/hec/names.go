package hec

import (
	"strings"

	"github.com/promfwd/promfwd/sinks/internal/idmemo"
)

// MetricPrefix is prepended to metric names that Splunk would refuse
// because they start with '_' or a digit: `_up` becomes `prom__up`,
// `2xx_total` becomes `prom_2xx_total`.
const MetricPrefix = "prom_"

// reservedWord may not appear anywhere in a Splunk metric name; each
// occurrence becomes reservedReplacement.
const (
	reservedWord        = "metric_name"
	reservedReplacement = "metric__name"
)

// metricName maps a Prometheus metric name onto Splunk's metric name rules:
// letters, digits, '_', '.' and ':' only, not starting with '_' or a digit,
// never containing "metric_name". So its result is JSON-plain (nothing a
// JSON string escapes): the encoder writes it without a check. The
// mapping is deterministic:
//  1. every other character (a UTF-8 name's) becomes '_';
//  2. each "metric_name" becomes "metric__name";
//  3. a name starting with '_' or a digit gets the prefix "prom_".
//
// Valid names are returned unchanged (and unallocated).
func metricName(s string) string {
	if validMetricName(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(MetricPrefix) + 1)
	for _, r := range s {
		if r < 0x80 && isMetricChar(byte(r)) {
			b.WriteByte(byte(r))
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	for strings.Contains(out, reservedWord) {
		out = strings.ReplaceAll(out, reservedWord, reservedReplacement)
	}
	if out == "" || out[0] == '_' || isDigit(out[0]) {
		out = MetricPrefix + out
	}
	return out
}

// validMetricName reports whether Splunk accepts s as a metric name.
func validMetricName(s string) bool {
	if s == "" || s[0] == '_' || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isMetricChar(s[i]) {
			return false
		}
	}
	return !strings.Contains(s, reservedWord)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isMetricChar(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '_' || c == '.' || c == ':'
}

// nameCacheMax bounds the name mapping's memory; it is cleared when full.
const nameCacheMax = 1 << 16

// names maps metric names and remembers which scraped name owns each
// mapped name, so that two names mapped onto one are detected: the first
// seen keeps the mapped name, later ones are dropped and counted
// (dropped{reason="name_collision"}). Ownership is remembered for up to
// nameCacheMax names and starts afresh after that.
type names struct {
	mapped map[string]string // scraped -> sent
	owner  map[string]string // sent -> scraped
	// memo holds recent answers by the identity of the scraped string
	// (idmemo): the parser interns names and a batch holds each family's
	// samples together, so a hit (a pointer comparison) spares two map
	// lookups, which hash the whole name, for nearly every sample. An
	// answer holds until the maps are cleared, which clears the memo.
	memo idmemo.Memo[namesAnswer]
}

// namesMemoSize is the memo's slots; a histogram's names take 3.
const namesMemoSize = 16

type namesAnswer struct {
	out string
	ok  bool
}

func newNames() names {
	return names{mapped: make(map[string]string), owner: make(map[string]string), memo: idmemo.New[namesAnswer](namesMemoSize)}
}

// lookup returns the name to send for scraped, and false when that name
// already belongs to another scraped name.
func (n *names) lookup(scraped string) (string, bool) {
	if a, hit := n.memo.Get(scraped); hit {
		return a.out, a.ok
	}
	out, ok := n.find(scraped)
	n.memo.Put(scraped, namesAnswer{out, ok})
	return out, ok
}

// find is lookup without the memo.
func (n *names) find(scraped string) (string, bool) {
	if out, ok := n.mapped[scraped]; ok {
		return out, n.owner[out] == scraped
	}
	if len(n.mapped) >= nameCacheMax {
		clear(n.mapped)
		clear(n.owner)
		n.memo.Clear()
	}
	out := metricName(scraped)
	n.mapped[scraped] = out
	if _, taken := n.owner[out]; !taken {
		n.owner[out] = scraped
	}
	return out, n.owner[out] == scraped
}
