package scrape

import (
	"slices"
	"strings"
)

// Label set helpers of Parser.emit: target-label conflicts, merging, limits
// and sorting.

// renameConflicts renames every exposed label that a target label overrides
// to exported_<name>, prefixing again until the name is free. It reports
// whether anything was renamed.
func (p *Parser) renameConflicts(ls, tl Labels) bool {
	renamed := false
	for i := range ls {
		if !hasLabel(tl, ls[i].Name, -1) {
			continue
		}
		name := ls[i].Name
		for {
			p.scratch = append(append(p.scratch[:0], "exported_"...), name...)
			name, _ = p.strs.bytes(p.scratch) // ASCII prefix on valid UTF-8
			if !hasLabel(tl, name, -1) && !hasLabel(ls, name, i) {
				break
			}
		}
		ls[i].Name = name
		renamed = true
	}
	return renamed
}

// hasLabel reports whether ls holds name at an index other than skip.
func hasLabel(ls Labels, name string, skip int) bool {
	for i := range ls {
		if i != skip && ls[i].Name == name {
			return true
		}
	}
	return false
}

// mergeLabels appends the union of sorted a and sorted b to dst, skipping
// entries of b with empty values. On a name in both, a wins: that only
// happens with HonorLabels (otherwise renameConflicts moved a's aside).
func mergeLabels(dst, a, b Labels) Labels {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j < len(b) && b[j].Value == "" {
			j++
			continue
		}
		if j < len(b) && i < len(a) && a[i].Name == b[j].Name {
			j++ // honor_labels: the exposed label stays
			continue
		}
		if j == len(b) || (i < len(a) && a[i].Name < b[j].Name) {
			dst = append(dst, a[i])
			i++
		} else {
			dst = append(dst, b[j])
			j++
		}
	}
	return dst
}

func checkLabelLimits(lim *Limits, name string, ls LabelSet) error {
	if lim.MaxLabels > 0 && ls.Len()+1 > lim.MaxLabels {
		return &LimitError{Limit: "label", Max: lim.MaxLabels}
	}
	if lim.MaxLabelNameLen > 0 {
		for _, l := range ls.All() { // Name(i) would read a compact set from its start each time
			if len(l.Name) > lim.MaxLabelNameLen {
				return &LimitError{Limit: "label name length", Max: lim.MaxLabelNameLen}
			}
		}
	}
	if lim.MaxLabelValueLen > 0 {
		if len(name) > lim.MaxLabelValueLen {
			return &LimitError{Limit: "label value length", Max: lim.MaxLabelValueLen}
		}
		for _, l := range ls.All() {
			if len(l.Value) > lim.MaxLabelValueLen {
				return &LimitError{Limit: "label value length", Max: lim.MaxLabelValueLen}
			}
		}
	}
	return nil
}

// sortLabels sorts by name: insertion sort for the usual short, mostly sorted
// sets, the library sort for long ones.
func sortLabels(ls Labels) {
	if len(ls) > 16 {
		slices.SortFunc(ls, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
		return
	}
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].Name < ls[j-1].Name; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

// internLabel is intern for a label name or value: the target's symbol
// table keeps the one copy.
func (p *Parser) internLabel(b []byte, what string) (string, error) {
	s, ok := p.syms.bytes(b)
	if !ok {
		return "", p.errorf("invalid UTF-8 in %s", what)
	}
	return s, nil
}
