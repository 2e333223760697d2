package scrape

import (
	"math"
	"strconv"
)

// skipExemplar checks the OpenMetrics exemplar at line[pos] == '#'
// (`# {trace_id="x"} 1.0 1700000000.123`) and discards it: promfwd forwards
// samples only.
func (p *Parser) skipExemplar(line []byte, pos int) error {
	if pos+1 == len(line) || line[pos+1] != ' ' {
		return p.errorf("invalid exemplar: expected '# {'")
	}
	pos = skipBlanks(line, pos+1)
	if pos == len(line) || line[pos] != '{' {
		return p.errorf("invalid exemplar: expected '# {'")
	}
	pos, _, err := p.readLabels(line, pos, "", false)
	if err != nil {
		return err
	}
	if pos == len(line) || !isBlank(line[pos]) {
		return p.errorf("invalid exemplar: expected value")
	}
	pos = skipBlanks(line, pos)
	end := tokenEnd(line, pos)
	if _, err := parseNumber(line[pos:end]); err != nil || end == pos {
		return p.errorf("invalid exemplar value %q", line[pos:end])
	}
	pos = skipBlanks(line, end)
	if pos == len(line) {
		return nil
	}
	end = tokenEnd(line, pos)
	if _, ok, _ := parseOMTimestamp(line[pos:end]); !ok { // out of range: harmless, exemplars are dropped
		return p.errorf("invalid exemplar timestamp %q", line[pos:end])
	}
	if skipBlanks(line, end) != len(line) {
		return p.errorf("unexpected %q after exemplar", line[end:])
	}
	return nil
}

// appendOMFloat appends f the way OpenMetrics and Prometheus 3 write le and
// quantile values: shortest round-trip form, with ".0" added to integers.
func appendOMFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "+Inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-Inf"...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' {
			return dst
		}
	}
	return append(dst, '.', '0')
}
