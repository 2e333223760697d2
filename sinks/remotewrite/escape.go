package remotewrite

import (
	"strings"
	"unicode/utf8"
)

// Remote-write 1.0 receivers (Prometheus before 3.0 and most others) accept
// only the legacy charset: metric names match [a-zA-Z_:][a-zA-Z0-9_:]* and
// label names [a-zA-Z_][a-zA-Z0-9_]*. Expositions may carry UTF-8 names
// (`{"my.metric-name"}`), so names are escaped with one fixed rule:
//
//   - every character outside the charset (each UTF-8 rune, each byte of an
//     invalid UTF-8 sequence) becomes one `_`;
//   - a name that starts with a digit gets a `_` prefix (`1xx` -> `_1xx`);
//   - valid names are returned unchanged, without allocating.
//
// So `my.metric-name` becomes `my_metric_name` and `µs` becomes `_s`. The
// rule is lossy: two names may escape to the same one; see labelSet for
// which label wins.

// EscapeMetricName maps a metric name onto the legacy charset
// [a-zA-Z_:][a-zA-Z0-9_:]* (invalid characters become `_`, a leading digit
// is prefixed with `_`). The empty name stays empty.
func EscapeMetricName(name string) string { return escape(name, true) }

// EscapeLabelName maps a label name onto the legacy charset
// [a-zA-Z_][a-zA-Z0-9_]* with the same rule as EscapeMetricName (colons are
// not allowed in label names and become `_`).
func EscapeLabelName(name string) string { return escape(name, false) }

func escape(s string, colonOK bool) string {
	if validName(s, colonOK) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 1)
	if s[0] >= '0' && s[0] <= '9' {
		b.WriteByte('_')
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if legalByte(c, colonOK) {
				b.WriteByte(c)
			} else {
				b.WriteByte('_')
			}
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		b.WriteByte('_')
		i += size
	}
	return b.String()
}

// validName reports whether s needs no escaping. The empty string is
// reported valid so that callers can detect and drop it themselves.
func validName(s string, colonOK bool) bool {
	if s == "" {
		return true
	}
	if s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !legalByte(s[i], colonOK) {
			return false
		}
	}
	return true
}

func legalByte(c byte, colonOK bool) bool {
	return legalLabelByte[c] || colonOK && c == ':'
}

// legalLabelByte marks the bytes of [a-zA-Z0-9_]: a table lookup per byte
// instead of five comparisons (resolve checks every label name of every
// sample).
var legalLabelByte = func() (t [256]bool) {
	for c := range t {
		b := byte(c)
		t[c] = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '_'
	}
	return t
}()
