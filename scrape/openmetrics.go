package scrape

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// exemplar checks the OpenMetrics exemplar at line[pos] == '#'
// (`# {trace_id="x"} 1.0 1700000000.123`). With ParseOptions.Exemplars it
// returns it (keep) for the sample the line yields; otherwise it is
// discarded. A well-formed exemplar that Prometheus' exemplar storage would
// refuse (labels over 128 runes, a repeated label name, a timestamp beyond
// int64 milliseconds) is dropped, its sample kept.
func (p *Parser) exemplar(line []byte, pos int) (e Exemplar, keep bool, err error) {
	if pos+1 == len(line) || line[pos+1] != ' ' {
		return e, false, p.errorf("invalid exemplar: expected '# {'")
	}
	pos = skipBlanks(line, pos+1)
	if pos == len(line) || line[pos] != '{' {
		return e, false, p.errorf("invalid exemplar: expected '# {'")
	}
	lstart := pos
	pos, _, err = p.readLabels(line, pos, "", false)
	if err != nil {
		return e, false, err
	}
	if pos == len(line) || !isBlank(line[pos]) {
		return e, false, p.errorf("invalid exemplar: expected value")
	}
	pos = skipBlanks(line, pos)
	end := tokenEnd(line, pos)
	v, err := parseNumber(line[pos:end])
	if err != nil || end == pos {
		return e, false, p.errorf("invalid exemplar value %q", line[pos:end])
	}
	pos = skipBlanks(line, end)
	var ts int64
	hasTS, inRange := false, true
	if pos < len(line) {
		end = tokenEnd(line, pos)
		var ok bool
		if ts, ok, inRange = parseOMTimestamp(line[pos:end]); !ok {
			return e, false, p.errorf("invalid exemplar timestamp %q", line[pos:end])
		}
		if skipBlanks(line, end) != len(line) {
			return e, false, p.errorf("unexpected %q after exemplar", line[end:])
		}
		hasTS = true
	}
	if !p.opt.Exemplars || !inRange {
		return e, false, nil
	}
	ls, ok := p.exemplarLabels(line, lstart)
	if !ok {
		return e, false, nil
	}
	return Exemplar{Labels: ls, Value: v, TimestampMs: ts, HasTimestamp: hasTS}, true, nil
}

// exemplarLabels extracts the label set at line[pos] == '{', which readLabels
// has already checked. Names (trace_id, span_id: a handful) are interned;
// values are fresh strings, as interning trace ids would bloat the table.
// ok is false when Prometheus would refuse the exemplar: a repeated name,
// or names and values over 128 runes together.
func (p *Parser) exemplarLabels(line []byte, pos int) (Labels, bool) {
	var ls Labels
	runes := 0
	pos++
	for {
		pos = skipBlanks(line, pos)
		if line[pos] == '}' {
			break
		}
		var n string
		if line[pos] == '"' {
			var raw []byte
			raw, pos, _ = p.readQuoted(line, pos) // checked by readLabels
			var ok bool
			if n, ok = p.strs.bytes(raw); !ok {
				return nil, false
			}
		} else {
			end := scanLabelName(line, pos)
			n, _ = p.strs.bytes(line[pos:end]) // ASCII
			pos = end
		}
		pos = skipBlanks(line, pos) // at '='
		pos = skipBlanks(line, pos+1)
		raw, end, _ := p.readQuoted(line, pos)
		v := string(raw)
		pos = end
		runes += utf8.RuneCountInString(n) + utf8.RuneCountInString(v)
		if v != "" {
			ls = append(ls, Label{Name: n, Value: v})
		}
		pos = skipBlanks(line, pos)
		if line[pos] == '}' {
			break
		}
		pos++ // ','
	}
	if runes > maxExemplarRunes {
		return nil, false
	}
	sortLabels(ls)
	for i := 1; i < len(ls); i++ {
		if ls[i].Name == ls[i-1].Name {
			return nil, false
		}
	}
	return ls, true
}

// maxExemplarRunes is OpenMetrics' limit on an exemplar's label names and
// values together (Prometheus' exemplar.ExemplarMaxLabelSetLength).
const maxExemplarRunes = 128

// attachExemplar gives the sample just emitted (the last in p.out) the
// exemplar e. The family's first exemplar of the scrape swaps its Meta for a
// copy of its own (the cached Meta is shared with earlier scrapes and must
// not change), on every sample of the family emitted so far too, so they
// still share one Meta as GroupEnd needs.
func (p *Parser) attachExemplar(e Exemplar) {
	f := &p.fam
	s := &p.out[len(p.out)-1]
	if !f.ownMeta {
		old := s.Meta
		m := *old
		m.Exemplars = nil
		for i := f.outStart; i < len(p.out); i++ {
			if p.out[i].Meta == old {
				p.out[i].Meta = &m
			}
		}
		f.meta, f.ownMeta = &m, true
	}
	f.meta.Exemplars = append(f.meta.Exemplars, e)
	s.ExemplarRef = uint32(len(f.meta.Exemplars))
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
