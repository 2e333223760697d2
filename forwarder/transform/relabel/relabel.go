// Package relabel runs Prometheus relabel configs (metric_relabel_configs,
// relabel_configs, write_relabel_configs) over promfwd's samples. The rules
// and their semantics are Prometheus' own (github.com/prometheus/prometheus/
// model/relabel): this package adds the YAML-facing checks that name a rule
// and field, a per-series result cache, and the conversion between
// scrape.Sample and Prometheus label sets.
package relabel

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	promrelabel "github.com/prometheus/prometheus/model/relabel"
)

// Config is one relabel rule exactly as Prometheus writes it; its YAML
// decoding sets Prometheus' defaults (action replace, separator ";",
// regex "(.*)", replacement "$1").
type Config = promrelabel.Config

// Scheme is the label name validation every rule is checked with: UTF-8,
// Prometheus 3's default, since promfwd's parsers accept quoted UTF-8 names.
const Scheme = model.UTF8Validation

// RuleError is a problem with one rule of a list; Field names the YAML key
// it is about ("" for the rule as a whole), so the config layer can point at
// file:line:col.
type RuleError struct {
	Index int
	Field string
	Msg   string
}

func (e *RuleError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("rule %d: %s: %s", e.Index, e.Field, e.Msg)
	}
	return fmt.Sprintf("rule %d: %s", e.Index, e.Msg)
}

// Validate checks each rule as Prometheus does when it loads a config and
// fills in the validation scheme the engine needs. It returns the first
// problem as a *RuleError. A nil rule (one that failed to decode, which the
// decoder reports) is skipped.
func Validate(cfgs []*Config) error {
	for i, c := range cfgs {
		if c == nil {
			continue // a rule that failed to decode, or an empty item: the decoder reported it
		}
		if c.Regex.Regexp == nil { // built by hand, not decoded: Prometheus' default
			c.Regex = promrelabel.DefaultRelabelConfig.Regex
		}
		if err := c.Validate(Scheme); err != nil {
			return &RuleError{Index: i, Field: fieldOf(err.Error()), Msg: err.Error()}
		}
	}
	return nil
}

// fieldOf guesses the YAML key a Prometheus validation message is about.
func fieldOf(msg string) string {
	for _, f := range []string{"target_label", "replacement", "modulus"} {
		if strings.Contains(msg, f) {
			return f
		}
	}
	return "action"
}

// Conflicts finds rules that always break the series they touch, which a
// Prometheus config load accepts but which can only produce samples promfwd
// must drop at run time (reason relabel_invalid):
//   - a rule that removes __name__ from every sample it reaches;
//   - a rule that removes or overwrites le or quantile, which merges the
//     series of a histogram or summary into duplicate label sets;
//   - a labelmap whose replacement always expands to an empty label name.
//
// Each problem is a *RuleError; the config check reports them with the
// rule's position.
func Conflicts(cfgs []*Config) []error {
	var errs []error
	for i, c := range cfgs {
		if c == nil {
			continue
		}
		if c.Action == promrelabel.LabelMap && alwaysEmpty(c.Replacement, c.Regex.NumSubexp(), c.Regex.SubexpNames()) {
			errs = append(errs, &RuleError{Index: i, Field: "replacement",
				Msg: fmt.Sprintf("replacement %q always expands to an empty label name (the regex has %d group(s))", c.Replacement, c.Regex.NumSubexp())})
		}
		for _, name := range removes(c) {
			switch name {
			case model.MetricNameLabel:
				errs = append(errs, &RuleError{Index: i, Field: fieldFor(c), Msg: "rule removes __name__: every sample it reaches would be dropped"})
			case model.BucketLabel, model.QuantileLabel:
				errs = append(errs, &RuleError{Index: i, Field: fieldFor(c),
					Msg: fmt.Sprintf("rule removes or overwrites %q: the series of a histogram or summary would merge into duplicate label sets", name)})
			}
		}
	}
	return errs
}

func fieldFor(c *Config) string {
	switch c.Action {
	case promrelabel.LabelDrop, promrelabel.LabelKeep:
		return "regex"
	}
	return "target_label"
}

// removes lists which of __name__, le and quantile the rule removes (or, for
// le and quantile, sets to one constant) whatever the input.
func removes(c *Config) []string {
	var out []string
	for _, name := range []string{model.MetricNameLabel, model.BucketLabel, model.QuantileLabel} {
		switch c.Action {
		case promrelabel.LabelDrop:
			if c.Regex.MatchString(name) {
				out = append(out, name)
			}
		case promrelabel.LabelKeep:
			if !c.Regex.MatchString(name) {
				out = append(out, name)
			}
		case promrelabel.Replace:
			// A constant replacement into the label: empty deletes it, any
			// other value makes every bucket (quantile) alike. A regex that
			// must match something specific leaves the rule data-dependent.
			if c.TargetLabel != name || strings.Contains(c.Replacement, "$") || !matchesAnything(c) {
				continue
			}
			if c.Replacement == "" || name != model.MetricNameLabel {
				out = append(out, name)
			}
		}
	}
	return out
}

// matchesAnything reports whether the rule's regex matches every input: the
// default "(.*)" or ".*".
func matchesAnything(c *Config) bool {
	s := c.Regex.String()
	return s == "(.*)" || s == ".*"
}

// alwaysEmpty reports whether a replacement template expands to "" for any
// match: it has no literal text and refers only to groups the regex lacks.
func alwaysEmpty(tmpl string, groups int, names []string) bool {
	for i := 0; i < len(tmpl); {
		if tmpl[i] != '$' || i+1 == len(tmpl) {
			return false // literal text
		}
		ref, rest, ok := templateRef(tmpl[i+1:])
		if !ok {
			return false // "$$" or a lone "$": literal
		}
		if n, err := strconv.Atoi(ref); err == nil {
			if n <= groups {
				return false
			}
		} else if slices.Contains(names, ref) {
			return false
		}
		i = len(tmpl) - len(rest)
	}
	return true
}

// templateRef parses the group reference after a '$' as regexp.Expand does:
// {name} or the longest run of letters, digits and underscores.
func templateRef(s string) (ref, rest string, ok bool) {
	if s[0] == '{' {
		end := strings.IndexByte(s, '}')
		if end < 2 {
			return "", s, false
		}
		return s[1:end], s[end+1:], true
	}
	n := 0
	for n < len(s) && (s[n] == '_' || s[n] >= '0' && s[n] <= '9' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z') {
		n++
	}
	if n == 0 {
		return "", s, false
	}
	return s[:n], s[n:], true
}
