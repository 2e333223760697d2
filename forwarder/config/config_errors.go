package config

import (
	"cmp"
	"errors"
	"slices"
	"strings"
)

// ConfigErrors is every problem found in one file, in file order: Load
// reports them all at once rather than one per run of `promfwd check`.
// errors.As finds the first *ConfigError in it.
type ConfigErrors []*ConfigError

// Error renders one problem per line.
func (es ConfigErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As see each problem.
func (es ConfigErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// collect accumulates errors while decoding or validating goes on.
type collect struct{ errs []error }

// add records err (nil is ignored) and reports whether it was non-nil.
func (c *collect) add(err error) bool {
	if err == nil {
		return false
	}
	c.errs = append(c.errs, err)
	return true
}

// err returns nil, the single error, or a ConfigErrors sorted by position
// (flattening nested ConfigErrors). Errors that are not *ConfigError (none
// are expected) keep the first place so they are not lost.
func (c *collect) err() error {
	var flat ConfigErrors
	for _, e := range c.errs {
		var many ConfigErrors
		var one *ConfigError
		switch {
		case errors.As(e, &many):
			flat = append(flat, many...)
		case errors.As(e, &one):
			flat = append(flat, one)
		default:
			return e
		}
	}
	switch len(flat) {
	case 0:
		return nil
	case 1:
		return flat[0]
	}
	slices.SortStableFunc(flat, func(a, b *ConfigError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return flat
}

// mergeErrors reports the decoding errors and then the validation errors
// of what did decode, leaving out validation errors at a position decoding
// already reported (a value that failed to decode is also invalid).
func mergeErrors(decodeErr, validateErr error) error {
	if validateErr == nil {
		return decodeErr
	}
	var all collect
	all.add(decodeErr)
	seen := map[[2]int]bool{}
	if decodeErr != nil {
		for _, e := range flatten(decodeErr) {
			seen[[2]int{e.Line, e.Column}] = true
		}
	}
	for _, e := range flatten(validateErr) {
		if !seen[[2]int{e.Line, e.Column}] {
			all.add(e)
		}
	}
	return all.err()
}

// flatten lists the *ConfigErrors in err.
func flatten(err error) ConfigErrors {
	var many ConfigErrors
	if errors.As(err, &many) {
		return many
	}
	var one *ConfigError
	if errors.As(err, &one) {
		return ConfigErrors{one}
	}
	return nil
}
