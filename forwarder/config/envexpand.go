package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Environment expansion works on the parsed document's scalar values, not on
// the raw bytes: line and column numbers stay exact, comments are never
// expanded, and a variable's value cannot inject YAML structure (a token
// containing ": " or "#" stays one string). Mapping keys are not expanded.
//
// Syntax: ${VAR}, ${VAR:-default} (default when VAR is unset or empty), and
// $$ for a literal $. A $ followed by anything else is kept as is.
//
// Relabel rules are not expanded (isRelabelKey): there $1, ${1}, ${name} and
// $$ belong to Prometheus' relabel engine, so a block pasted from a
// Prometheus config keeps its meaning. vmagent resolved the same clash by
// moving its own syntax to %{VAR}; scoping keeps ${VAR} for everything
// else, where systemd and Kubernetes users write it.

// isRelabelKey reports whether a mapping key's value is a list of relabel
// rules.
func isRelabelKey(key string) bool {
	switch key {
	case "relabel_configs", "metric_relabel_configs", "write_relabel_configs":
		return true
	}
	return false
}

// lookupFunc is os.LookupEnv's signature, injected for tests.
type lookupFunc func(string) (string, bool)

// expandEnv expands every scalar value under n in place. Expanded plain
// scalars have their tag reset so `${PORT}` becomes an integer again; quoted
// ones stay strings. Nodes whose value came from the environment are added
// to tainted, so error messages never echo them.
func (d *decoder) expandEnv(n *yaml.Node, path string, lookup lookupFunc) error {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := d.expandEnv(c, path, lookup); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if isRelabelKey(n.Content[i].Value) {
				continue // Prometheus' $1 and ${1}: see isRelabelKey
			}
			if err := d.expandEnv(n.Content[i+1], joinPath(path, n.Content[i].Value), lookup); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := d.expandEnv(c, indexPath(path, i), lookup); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") || d.tainted[n] {
			return nil // tainted: an anchor already expanded through another path
		}
		out, fromEnv, err := expandString(n.Value, lookup)
		if err != nil {
			return d.errf(n, path, "%v", err)
		}
		if out == n.Value {
			return nil
		}
		n.Value = out
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 &&
			(n.Tag == "" || n.Tag == "!!str") {
			n.Tag = "" // re-resolve: "${N}" expanded to "4" is an int
		}
		if fromEnv {
			d.tainted[n] = true
		}
	}
	return nil
}

// expandString expands one value. fromEnv reports whether any part of the
// result came from an environment variable (as opposed to $$ or a default).
func expandString(s string, lookup lookupFunc) (out string, fromEnv bool, err error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
			continue
		case '{':
		default:
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", false, fmt.Errorf("unterminated ${ (write $$ for a literal $)")
		}
		expr := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validEnvName(name) {
			return "", false, fmt.Errorf("invalid environment variable name %q in ${...}", name)
		}
		val, ok := lookup(name)
		switch {
		case ok && (val != "" || !hasDef):
			b.WriteString(val)
			fromEnv = true
		case hasDef:
			b.WriteString(def)
		default:
			return "", false, fmt.Errorf("environment variable %s is not set (use ${%s:-default} for a default)", name, name)
		}
		i += 2 + end + 1
	}
	return b.String(), fromEnv, nil
}

// validEnvName accepts POSIX shell variable names.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
