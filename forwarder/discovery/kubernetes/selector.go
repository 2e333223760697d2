package kubernetes

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The selectors are checked at load with the API server's grammar (label
// selectors: k8s.io/apimachinery/pkg/labels; field selectors: .../fields),
// whose syntax errors they repeat word for word; the API server applies
// them, so they are passed through unchanged.

type token int

const (
	tokError token = iota
	tokEnd
	tokClosePar
	tokComma
	tokNot
	tokDoubleEquals
	tokEquals
	tokGreater
	tokIdent
	tokIn
	tokLess
	tokNotEquals
	tokNotIn
	tokOpenPar
)

var selectorTokens = map[string]token{
	")": tokClosePar, ",": tokComma, "!": tokNot, "==": tokDoubleEquals, "=": tokEquals,
	">": tokGreater, "in": tokIn, "<": tokLess, "!=": tokNotEquals, "notin": tokNotIn, "(": tokOpenPar,
}

type item struct {
	tok token
	lit string
}

func isSpecial(ch byte) bool { return strings.IndexByte("=!(),><", ch) >= 0 }
func isSpace(ch byte) bool   { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' }

// lexSelector splits a label selector into tokens, ending with tokEnd.
func lexSelector(s string) []item {
	var out []item
	pos := 0
	for {
		for pos < len(s) && isSpace(s[pos]) {
			pos++
		}
		if pos >= len(s) {
			return append(out, item{tokEnd, ""})
		}
		if !isSpecial(s[pos]) {
			start := pos
			for pos < len(s) && !isSpecial(s[pos]) && !isSpace(s[pos]) {
				pos++
			}
			lit := s[start:pos]
			if t, ok := selectorTokens[lit]; ok {
				out = append(out, item{t, lit})
			} else {
				out = append(out, item{tokIdent, lit})
			}
			continue
		}
		// The longest run of special characters that is a token.
		var last item
		start := pos
		for pos < len(s) && isSpecial(s[pos]) {
			if t, ok := selectorTokens[s[start:pos+1]]; ok {
				last = item{t, s[start : pos+1]}
			} else if last.tok != tokError {
				break
			}
			pos++
		}
		if last.tok == tokError {
			out = append(out, item{tokError, fmt.Sprintf("error expected: keyword found '%s'", s[start:pos])})
		} else {
			pos = start + len(last.lit)
			out = append(out, last)
		}
	}
}

type selectorParser struct {
	items []item
	pos   int
}

// peek and next see "in" and "notin" as identifiers where values go.
func (p *selectorParser) peek(values bool) item {
	it := p.items[p.pos]
	if values && (it.tok == tokIn || it.tok == tokNotIn) {
		it.tok = tokIdent
	}
	return it
}

func (p *selectorParser) next(values bool) item {
	it := p.peek(values)
	p.pos++
	return it
}

// checkLabelSelector reports what labels.Parse reports for s.
func checkLabelSelector(s string) error {
	p := &selectorParser{items: lexSelector(s)}
	for {
		it := p.peek(true)
		switch it.tok {
		case tokIdent, tokNot:
			if err := p.requirement(); err != nil {
				return fmt.Errorf("unable to parse requirement: %w", err)
			}
			switch t := p.next(true); t.tok {
			case tokEnd:
				return nil
			case tokComma:
				if t2 := p.peek(true); t2.tok != tokIdent && t2.tok != tokNot {
					return fmt.Errorf("found '%s', expected: identifier after ','", t2.lit)
				}
			default:
				return fmt.Errorf("found '%s', expected: ',' or 'end of string'", t.lit)
			}
		case tokEnd:
			return nil
		default:
			return fmt.Errorf("found '%s', expected: !, identifier, or 'end of string'", it.lit)
		}
	}
}

func (p *selectorParser) requirement() error {
	it := p.next(true)
	exists := false
	if it.tok == tokNot {
		exists = true
		it = p.next(true)
	}
	if it.tok != tokIdent {
		return fmt.Errorf("found '%s', expected: identifier", it.lit)
	}
	key := it.lit
	if err := checkLabelKey(key); err != nil {
		return err
	}
	if t := p.peek(true).tok; exists || t == tokEnd || t == tokComma {
		return nil // key or !key
	}
	op := p.next(false)
	var values []string
	switch op.tok {
	case tokIn, tokNotIn:
		vs, err := p.valueList()
		if err != nil {
			return err
		}
		values = vs
	case tokEquals, tokDoubleEquals, tokNotEquals, tokGreater, tokLess:
		if t := p.peek(true).tok; t == tokEnd || t == tokComma {
			values = []string{""}
			break
		}
		v := p.next(true)
		if v.tok != tokIdent {
			return fmt.Errorf("found '%s', expected: identifier", v.lit)
		}
		values = []string{v.lit}
	default:
		return fmt.Errorf("found '%s', expected: in, notin, =, ==, !=, gt, lt", op.lit)
	}
	for _, v := range values {
		if op.tok == tokGreater || op.tok == tokLess {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return fmt.Errorf("values[0]: Invalid value: %q: for 'Gt', 'Lt' operators, the value must be an integer", v)
			}
			continue
		}
		if err := checkLabelValue(key, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *selectorParser) valueList() ([]string, error) {
	if t := p.next(true); t.tok != tokOpenPar {
		return nil, fmt.Errorf("found '%s' expected: '('", t.lit)
	}
	first := p.peek(true)
	switch first.tok {
	case tokClosePar:
		p.next(true)
		return []string{""}, nil
	case tokIdent, tokComma:
	default:
		return nil, fmt.Errorf("found '%s', expected: ',', ')' or identifier", first.lit)
	}
	var vs []string
	for {
		t := p.next(true)
		switch t.tok {
		case tokIdent:
			vs = append(vs, t.lit)
			switch t2 := p.peek(true); t2.tok {
			case tokComma:
				continue
			case tokClosePar:
				p.next(true)
				return vs, nil
			default:
				return nil, fmt.Errorf("found '%s', expected: ',' or ')'", t2.lit)
			}
		case tokComma:
			vs = append(vs, "")
			if p.peek(true).tok == tokClosePar {
				p.next(true)
				return vs, nil
			}
		default:
			return nil, fmt.Errorf("found '%s', expected: ',', or identifier", t.lit)
		}
	}
}

var (
	labelNameRE   = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	dnsSubdomRE   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	labelValueMax = 63
)

// checkLabelKey: [prefix/]name, a DNS subdomain prefix and a name of at
// most 63 characters.
func checkLabelKey(k string) error {
	name := k
	if prefix, n, ok := strings.Cut(k, "/"); ok {
		if strings.Contains(n, "/") || prefix == "" || len(prefix) > 253 || !dnsSubdomRE.MatchString(prefix) {
			return fmt.Errorf("key: Invalid value: %q: a valid label key is a name with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')", k)
		}
		name = n
	}
	if len(name) == 0 || len(name) > labelValueMax || !labelNameRE.MatchString(name) {
		return fmt.Errorf("key: Invalid value: %q: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters", k)
	}
	return nil
}

// checkLabelValue: empty, or a label name of at most 63 characters.
func checkLabelValue(k, v string) error {
	if v != "" && (len(v) > labelValueMax || !labelNameRE.MatchString(v)) {
		return fmt.Errorf("values[0][%s]: Invalid value: %q: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters", k, v)
	}
	return nil
}

// checkFieldSelector reports what fields.ParseSelector reports for s:
// comma-separated field=value, field==value or field!=value terms, with
// backslash escapes in the values.
func checkFieldSelector(s string) error {
	for _, term := range splitFieldTerms(s) {
		if term == "" {
			continue
		}
		rhs, ok := "", false
		for i := range term {
			for _, op := range []string{"!=", "==", "="} {
				if strings.HasPrefix(term[i:], op) {
					rhs, ok = term[i+len(op):], true
					break
				}
			}
			if ok {
				break
			}
		}
		if !ok {
			return fmt.Errorf("invalid selector: '%s'; can't understand '%s'", s, term)
		}
		if err := checkFieldValue(rhs); err != nil {
			return err
		}
	}
	return nil
}

func splitFieldTerms(s string) []string {
	if s == "" {
		return nil
	}
	var terms []string
	start, escaped := 0, false
	for i, c := range s {
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == ',':
			terms = append(terms, s[start:i])
			start = i + 1
		}
	}
	return append(terms, s[start:])
}

func checkFieldValue(v string) error {
	escaped := false
	for _, c := range v {
		switch {
		case escaped:
			if c != '\\' && c != ',' && c != '=' {
				return fmt.Errorf("invalid field selector: invalid escape sequence: %s", string([]rune{'\\', c}))
			}
			escaped = false
		case c == '\\':
			escaped = true
		case c == ',' || c == '=':
			return fmt.Errorf("invalid field selector: unescaped character in value: %v", c)
		}
	}
	if escaped {
		return fmt.Errorf("invalid field selector: invalid escape sequence: %s", "\\")
	}
	return nil
}
