package scrape

import (
	"bytes"
	"strconv"
)

// parseText parses Prometheus text 0.0.4 or, with om, OpenMetrics 1.0 text.
// Both share one lexer; OpenMetrics adds # UNIT, # EOF, float-second
// timestamps and exemplars, and forbids empty lines and unknown comments.
// Whitespace between tokens is lenient in both (blanks or tabs, any number),
// as expfmt is for text.
func (p *Parser) parseText(body []byte, om bool) error {
	eof := false
	for p.line = 1; len(body) > 0; p.line++ {
		var line []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			line, body = body, nil
		}
		if eof {
			return p.errorf("content after # EOF")
		}
		if !om {
			line = line[skipBlanks(line, 0):]
		}
		if len(line) == 0 {
			if om {
				return p.errorf("empty line")
			}
			continue
		}
		var err error
		if line[0] == '#' {
			eof, err = p.commentLine(line, om)
		} else {
			err = p.sampleLine(line, om)
		}
		if err != nil {
			return err
		}
	}
	if om && !eof {
		p.line--
		return p.errorf("missing # EOF")
	}
	return nil
}

// commentLine handles # HELP, # TYPE, # UNIT (OpenMetrics) and # EOF
// (OpenMetrics). Other comments are ignored in text and errors in OpenMetrics.
func (p *Parser) commentLine(line []byte, om bool) (eof bool, err error) {
	rest := line[1:]
	if om {
		if string(rest) == " EOF" {
			return true, nil
		}
		if len(rest) == 0 || rest[0] != ' ' {
			return false, p.errorf("invalid comment: expected HELP, TYPE, UNIT or EOF")
		}
	}
	rest = rest[skipBlanks(rest, 0):]
	kwEnd := tokenEnd(rest, 0)
	kw := string(rest[:kwEnd]) // no allocation: compared only
	switch {
	case kw == "HELP", kw == "TYPE", kw == "UNIT" && om:
	default:
		if om {
			return false, p.errorf("invalid comment: expected HELP, TYPE, UNIT or EOF")
		}
		return false, nil
	}
	kwb := rest[:kwEnd]
	pos := skipBlanks(rest, kwEnd)
	if pos == kwEnd || pos == len(rest) {
		return false, p.errorf("%s without metric name", kwb)
	}
	name, pos, err := p.metaName(rest, pos)
	if err != nil {
		return false, err
	}
	if pos < len(rest) && !isBlank(rest[pos]) {
		return false, p.errorf("invalid metric name in %s", kwb)
	}
	pos = skipBlanks(rest, pos)
	arg := rest[pos:]

	f := &p.fam
	if f.name != name || f.samples {
		p.newFamily(name)
	}
	switch kwb[0] {
	case 'H':
		// A second HELP line replaces the first, as in Prometheus' own
		// scrape (its metadata cache keeps the last); expfmt refuses it.
		f.hasHelp = true
		f.help = unescapeHelp(f.help[:0], arg, om)
	case 'T':
		if f.hasType {
			return false, p.errorf("second TYPE line for %q", name)
		}
		typ, ok := parseType(trimRightBlanks(arg))
		if !ok {
			return false, p.errorf("invalid metric type %q", trimRightBlanks(arg))
		}
		f.hasType, f.typ = true, typ
	case 'U':
		if f.hasUnit {
			return false, p.errorf("second UNIT line for %q", name)
		}
		unit, err := p.intern(trimRightBlanks(arg), "unit")
		if err != nil {
			return false, err
		}
		f.hasUnit, f.unit = true, unit
	}
	return false, nil
}

// metaName reads the family name of a HELP/TYPE/UNIT line: a legacy name or a
// quoted UTF-8 one.
func (p *Parser) metaName(line []byte, pos int) (string, int, error) {
	if line[pos] == '"' {
		raw, end, err := p.readQuoted(line, pos)
		if err != nil {
			return "", 0, err
		}
		if len(raw) == 0 {
			return "", 0, p.errorf("empty metric name")
		}
		name, err := p.intern(raw, "metric name")
		return name, end, err
	}
	end := scanMetricName(line, pos)
	if end == pos {
		return "", 0, p.errorf("invalid metric name")
	}
	name, err := p.intern(line[pos:end], "metric name")
	return name, end, err
}

// sampleLine parses `name{labels} value [timestamp] [# exemplar]`, where the
// name may instead be a quoted string inside the braces.
func (p *Parser) sampleLine(line []byte, om bool) error {
	p.lbuf = p.lbuf[:0]
	p.lc = lineState{}
	if end, lstart := seriesSpan(line, om); end > 0 && p.lines.lookup(&p.lc, line, end, lstart) && p.hitName(line) {
		return p.sampleValue(line, end, p.lc.entry.name, om)
	}
	var name string
	pos := 0
	if line[0] != '{' {
		end := scanMetricName(line, 0)
		if end == 0 {
			return p.errorf("invalid metric name")
		}
		var err error
		if name, err = p.intern(line[:end], "metric name"); err != nil {
			return err
		}
		pos = end
		if q := skipBlanks(line, pos); !om && q < len(line) && line[q] == '{' {
			pos = q // text allows blanks before the label set, as expfmt does
		}
	}
	if pos < len(line) && line[pos] == '{' {
		var err error
		if pos, name, err = p.readLabels(line, pos, name, true); err != nil {
			return err
		}
	}
	if name == "" {
		return p.errorf("missing metric name")
	}
	return p.sampleValue(line, pos, name, om)
}

// sampleValue parses what follows a sample's series text at line[pos]:
// value, optional timestamp and (OpenMetrics) exemplar.
func (p *Parser) sampleValue(line []byte, pos int, name string, om bool) error {
	if pos == len(line) || !isBlank(line[pos]) {
		return p.errorf("expected blank and value after metric %q", name)
	}
	pos = skipBlanks(line, pos)
	end := tokenEnd(line, pos)
	v, err := parseNumber(line[pos:end])
	if err != nil || end == pos {
		return p.errorf("invalid value %q for %q", line[pos:end], name)
	}
	pos = skipBlanks(line, end)
	ts, explicit := p.opt.NowMs, false
	p.outOfBounds = false
	if pos < len(line) && line[pos] != '#' {
		end = tokenEnd(line, pos)
		ok, inRange := false, true
		if om {
			ts, ok, inRange = parseOMTimestamp(line[pos:end])
		} else {
			// expfmt's rule: a base-10 int64 of milliseconds.
			ts, err = strconv.ParseInt(string(line[pos:end]), 10, 64)
			ok = err == nil
		}
		if !ok {
			return p.errorf("invalid timestamp %q for %q", line[pos:end], name)
		}
		explicit, p.outOfBounds = true, !inRange
		pos = skipBlanks(line, end)
	}
	var ex Exemplar
	keep := false
	if pos < len(line) {
		if !om || line[pos] != '#' {
			return p.errorf("unexpected %q after value of %q", line[pos:], name)
		}
		if ex, keep, err = p.exemplar(line, pos); err != nil {
			return err
		}
	}
	n := len(p.out)
	if err := p.addSample(name, v, ts, explicit); err != nil {
		return err
	}
	if keep && len(p.out) > n {
		p.attachExemplar(ex)
	}
	return nil
}

// readLabels parses the label set at line[pos] == '{' into p.lbuf (keep) or
// only checks its syntax (exemplars, whose labels are not interned so trace
// ids cannot bloat the intern table). A quoted string not followed by '=' as
// the first item is the metric name. It returns the position after '}'.
func (p *Parser) readLabels(line []byte, pos int, name string, keep bool) (int, string, error) {
	pos++
	for first := true; ; first = false {
		pos = skipBlanks(line, pos)
		if pos == len(line) {
			return 0, "", p.errorf("unterminated label set")
		}
		if line[pos] == '}' {
			return pos + 1, name, nil
		}
		var lname string
		if line[pos] == '"' {
			raw, end, err := p.readQuoted(line, pos)
			if err != nil {
				return 0, "", err
			}
			pos = skipBlanks(line, end)
			if pos == len(line) || line[pos] != '=' {
				if !keep || !first || name != "" {
					return 0, "", p.errorf("unexpected quoted string in label set")
				}
				if len(raw) == 0 {
					return 0, "", p.errorf("empty metric name")
				}
				if name, err = p.intern(raw, "metric name"); err != nil {
					return 0, "", err
				}
				if pos, err = p.labelSep(line, pos); err != nil {
					return 0, "", err
				}
				if line[pos-1] == '}' {
					return pos, name, nil
				}
				continue
			}
			if len(raw) == 0 {
				return 0, "", p.errorf("empty label name")
			}
			if keep {
				if lname, err = p.internLabel(raw, "label name"); err != nil {
					return 0, "", err
				}
			}
		} else {
			lstart := pos
			end := scanLabelName(line, pos)
			if end == pos {
				return 0, "", p.errorf("invalid label name")
			}
			if keep {
				lname, _ = p.syms.bytes(line[pos:end]) // ASCII
			}
			pos = skipBlanks(line, end)
			if pos == len(line) || line[pos] != '=' {
				return 0, "", p.errorf("expected '=' after label name %q", line[lstart:end])
			}
		}
		pos = skipBlanks(line, pos+1)
		if pos == len(line) || line[pos] != '"' {
			return 0, "", p.errorf("expected quoted value for label %q", lname)
		}
		raw, end, err := p.readQuoted(line, pos)
		if err != nil {
			return 0, "", err
		}
		if keep {
			value, err := p.internLabel(raw, "label value")
			if err != nil {
				return 0, "", err
			}
			if lname == "__name__" {
				if name != "" {
					return 0, "", p.errorf("metric name given twice")
				}
				name = value
			} else {
				p.lbuf = append(p.lbuf, Label{Name: lname, Value: value})
			}
		}
		if pos, err = p.labelSep(line, end); err != nil {
			return 0, "", err
		}
		if line[pos-1] == '}' {
			return pos, name, nil
		}
	}
}

// labelSep consumes the ',' or '}' after a label; the caller tells which by
// looking at line[pos-1].
func (p *Parser) labelSep(line []byte, pos int) (int, error) {
	pos = skipBlanks(line, pos)
	if pos < len(line) && (line[pos] == ',' || line[pos] == '}') {
		return pos + 1, nil
	}
	if pos == len(line) {
		return 0, p.errorf("unterminated label set")
	}
	return 0, p.errorf("expected ',' or '}' in label set")
}

// readQuoted reads the string at line[pos] == '"', resolving \\ \" and \n;
// any other backslash sequence is kept as written.
// The result aliases line, or p.scratch when it had escapes: intern it before
// the next call.
func (p *Parser) readQuoted(line []byte, pos int) ([]byte, int, error) {
	start := pos + 1
	i := start
	for ; i < len(line); i++ {
		switch line[i] {
		case '"':
			return line[start:i], i + 1, nil
		case '\\':
			return p.readEscaped(line, start, i)
		}
	}
	return nil, 0, p.errorf("unterminated quoted string")
}

func (p *Parser) readEscaped(line []byte, start, i int) ([]byte, int, error) {
	buf := append(p.scratch[:0], line[start:i]...)
	for i < len(line) {
		c := line[i]
		switch c {
		case '"':
			p.scratch = buf
			return buf, i + 1, nil
		case '\\':
			if i+1 == len(line) {
				return nil, 0, p.errorf("unterminated quoted string")
			}
			switch line[i+1] {
			case '\\':
				buf = append(buf, '\\')
			case '"':
				buf = append(buf, '"')
			case 'n':
				buf = append(buf, '\n')
			default:
				// Kept as written, as Prometheus does: the grammar allows
				// a backslash before any character (C:\Windows).
				buf = append(buf, '\\', line[i+1])
			}
			i += 2
		default:
			buf = append(buf, c)
			i++
		}
	}
	p.scratch = buf
	return nil, 0, p.errorf("unterminated quoted string")
}

// unescapeHelp appends HELP text to dst resolving \\ and \n, and in
// OpenMetrics \" too; any other backslash is kept as written (Prometheus'
// text and OpenMetrics parsers do the same).
func unescapeHelp(dst, s []byte, om bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '"':
				if om {
					c = '"'
					i++
				}
			case '\\':
				c = s[i+1]
				i++
			case 'n':
				c = '\n'
				i++
			}
		}
		dst = append(dst, c)
	}
	return dst
}
