package aggregate

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/promfwd/promfwd/scrape"
)

// matchOp is a label matcher's operator, as in PromQL.
type matchOp uint8

const (
	opEq  matchOp = iota // =
	opNe                 // !=
	opRe                 // =~
	opNre                // !~
)

// matcher is one label matcher of a series selector. __name__ matches the
// sample name (h_bucket, h_sum), as Prometheus does.
type matcher struct {
	name  string
	op    matchOp
	value string
	re    *regexp.Regexp // anchored, for opRe and opNre
}

func (m *matcher) matches(v string) bool {
	switch m.op {
	case opEq:
		return v == m.value
	case opNe:
		return v != m.value
	case opRe:
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

// Selector is a parsed Prometheus series selector: `metric`,
// `metric{a="b"}` or `{__name__=~"x_.*", env!="dev"}`. Regexes are RE2
// (Go's regexp, the syntax Prometheus uses) and fully anchored.
type Selector struct {
	name   []matcher // matchers on __name__: decided once per metric name
	labels []matcher // the others: decided per series
}

// MatchName reports whether a sample name can match (the __name__
// matchers). The result depends on the name only, so callers memoize it.
func (s *Selector) MatchName(name string) bool {
	for i := range s.name {
		if !s.name[i].matches(name) {
			return false
		}
	}
	return true
}

// MatchLabels reports whether the labels match the other matchers; a
// missing label matches as the empty value, as in PromQL.
func (s *Selector) MatchLabels(ls scrape.LabelSet) bool {
	for i := range s.labels {
		if !s.labels[i].matches(ls.Get(s.labels[i].name)) {
			return false
		}
	}
	return true
}

// HasLabelMatcher reports whether the selector constrains the named label.
func (s *Selector) HasLabelMatcher(name string) bool {
	for _, m := range s.labels {
		if m.name == name {
			return true
		}
	}
	return false
}

// ParseSelector parses a series selector. At least one matcher must not
// match the empty string (PromQL's rule), so `{}` or `{a=""}` is refused.
func ParseSelector(s string) (*Selector, error) {
	p := &selParser{in: s}
	sel, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("match %q: %w", s, err)
	}
	return sel, nil
}

type selParser struct {
	in  string
	pos int
}

func (p *selParser) skipSpace() {
	for p.pos < len(p.in) && strings.ContainsRune(" \t\r\n", rune(p.in[p.pos])) {
		p.pos++
	}
}

func isNameChar(c byte, first bool) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

func (p *selParser) ident() string {
	start := p.pos
	for p.pos < len(p.in) && isNameChar(p.in[p.pos], p.pos == start) {
		p.pos++
	}
	return p.in[start:p.pos]
}

func (p *selParser) parse() (*Selector, error) {
	var all []matcher
	p.skipSpace()
	if name := p.ident(); name != "" {
		all = append(all, matcher{name: "__name__", op: opEq, value: name})
	}
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == '{' {
		p.pos++
		ms, err := p.matchers()
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
	}
	p.skipSpace()
	if p.pos != len(p.in) {
		return nil, fmt.Errorf("unexpected %q at offset %d", p.in[p.pos:], p.pos)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("empty selector")
	}
	sel := &Selector{}
	nonEmpty := false
	for _, m := range all {
		if !m.matches("") {
			nonEmpty = true
		}
		if m.name == "__name__" {
			sel.name = append(sel.name, m)
		} else {
			sel.labels = append(sel.labels, m)
		}
	}
	if !nonEmpty {
		return nil, fmt.Errorf("a selector needs at least one matcher that does not match the empty string")
	}
	return sel, nil
}

// matchers parses `a="b", c=~"d"}` (the opening brace consumed).
func (p *selParser) matchers() ([]matcher, error) {
	var out []matcher
	for {
		p.skipSpace()
		if p.pos < len(p.in) && p.in[p.pos] == '}' {
			p.pos++
			return out, nil
		}
		name := p.ident()
		if name == "" {
			return nil, fmt.Errorf("expected a label name at offset %d", p.pos)
		}
		p.skipSpace()
		var op matchOp
		switch rest := p.in[p.pos:]; {
		case strings.HasPrefix(rest, "=~"):
			op, p.pos = opRe, p.pos+2
		case strings.HasPrefix(rest, "!~"):
			op, p.pos = opNre, p.pos+2
		case strings.HasPrefix(rest, "!="):
			op, p.pos = opNe, p.pos+2
		case strings.HasPrefix(rest, "="):
			op, p.pos = opEq, p.pos+1
		default:
			return nil, fmt.Errorf("expected =, !=, =~ or !~ after %q", name)
		}
		p.skipSpace()
		val, err := p.quoted()
		if err != nil {
			return nil, err
		}
		m := matcher{name: name, op: op, value: val}
		if op == opRe || op == opNre {
			re, err := regexp.Compile("^(?s:" + val + ")$")
			if err != nil {
				return nil, fmt.Errorf("label %s: %w", name, err)
			}
			m.re = re
		}
		out = append(out, m)
		p.skipSpace()
		if p.pos < len(p.in) && p.in[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.in) && p.in[p.pos] == '}' {
			continue
		}
		return nil, fmt.Errorf("expected , or } at offset %d", p.pos)
	}
}

// quoted reads a "…", '…' or `…` string with PromQL's (Go's) escapes.
func (p *selParser) quoted() (string, error) {
	if p.pos >= len(p.in) || !strings.ContainsRune("\"'`", rune(p.in[p.pos])) {
		return "", fmt.Errorf("expected a quoted value at offset %d", p.pos)
	}
	q := p.in[p.pos]
	end := p.pos + 1
	for end < len(p.in) && p.in[end] != q {
		if p.in[end] == '\\' && q != '`' {
			end++
		}
		end++
	}
	if end >= len(p.in) {
		return "", fmt.Errorf("unterminated string at offset %d", p.pos)
	}
	raw := p.in[p.pos : end+1]
	p.pos = end + 1
	if q == '\'' { // strconv.Unquote reads '…' as a rune literal
		raw = `"` + strings.ReplaceAll(strings.ReplaceAll(raw[1:len(raw)-1], `\'`, `'`), `"`, `\"`) + `"`
	}
	v, err := strconv.Unquote(raw)
	if err != nil {
		return "", fmt.Errorf("bad string %s: %w", raw, err)
	}
	return v, nil
}
