package config

import (
	"fmt"
	"strings"
)

// ConfigError is a configuration problem located in the file: every load,
// type and validation error carries the file, the line and column of the
// offending YAML node, and the field path (sources[0].tls.ca_file).
type ConfigError struct {
	File   string // name given to Load, or the path given to LoadFile
	Line   int    // 1-based; 0 when the problem has no single position
	Column int    // 1-based; 0 when unknown
	Path   string // field path; "" for the whole document
	Msg    string // what is wrong; never contains a secret value
}

// Error renders "file:line:col: path: msg", dropping the parts that are unknown.
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// joinPath appends a mapping key to a field path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath appends a sequence index to a field path.
func indexPath(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// suggest returns the candidate closest to word when it is close enough to
// be a plausible typo, or "".
func suggest(word string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(word), strings.ToLower(c))
		if d <= 2 || d*3 <= len(c) {
			if bestDist < 0 || d < bestDist || (d == bestDist && c < best) {
				best, bestDist = c, d
			}
		}
	}
	return best
}

// levenshtein is the classic edit distance over bytes; field names are ASCII.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
