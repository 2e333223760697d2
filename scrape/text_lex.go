package scrape

// Byte-level helpers of the text lexer. Names follow the legacy Prometheus
// charset; anything else must be quoted.

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// skipBlanks returns the first index at or after pos that is not a blank.
func skipBlanks(b []byte, pos int) int {
	for pos < len(b) && isBlank(b[pos]) {
		pos++
	}
	return pos
}

// tokenEnd returns the index of the first blank at or after pos, or len(b).
func tokenEnd(b []byte, pos int) int {
	for pos < len(b) && !isBlank(b[pos]) {
		pos++
	}
	return pos
}

func trimRightBlanks(b []byte) []byte {
	for len(b) > 0 && isBlank(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

// scanMetricName returns the end of the legacy metric name
// [a-zA-Z_:][a-zA-Z0-9_:]* starting at pos (pos itself when there is none).
func scanMetricName(b []byte, pos int) int {
	if pos == len(b) || !(isNameStart(b[pos]) || b[pos] == ':') {
		return pos
	}
	pos++
	for pos < len(b) && (isNameChar(b[pos]) || b[pos] == ':') {
		pos++
	}
	return pos
}

// scanLabelName returns the end of the legacy label name
// [a-zA-Z_][a-zA-Z0-9_]* starting at pos (pos itself when there is none).
func scanLabelName(b []byte, pos int) int {
	if pos == len(b) || !isNameStart(b[pos]) {
		return pos
	}
	pos++
	for pos < len(b) && isNameChar(b[pos]) {
		pos++
	}
	return pos
}
