package hec

import (
	"strings"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks/jsonw"
)

// RenamePrefix is prepended to label names HEC rejects or reserves as
// dimension names: names starting with "_", "metric_name", names starting
// with "metric_name:", and the default fields host, source, sourcetype and
// index. So `_x` becomes `label__x` and `host` becomes `label_host`. If the
// result collides with another label of the same sample, the prefix is
// applied again until the name is unique.
const RenamePrefix = "label_"

// needsRename reports whether HEC would reject or misread name as a dimension.
func needsRename(name string) bool {
	if name == "" || name[0] == '_' {
		return true
	}
	switch name {
	case "metric_name", "host", "source", "sourcetype", "index":
		return true
	}
	return strings.HasPrefix(name, "metric_name:")
}

// dimNamer assigns dimension names (see RenamePrefix) in time linear in
// the number of labels: the names in use are looked up in a set built once
// per sample, and only for samples that have a label to rename.
type dimNamer struct {
	taken map[string]struct{}
	ls    scrape.Labels // the sample's labels, read once
}

// read decodes set into d's scratch; the result is valid until the next
// read. plain reports that every name and value is JSON-plain
// (scrape.PropJSONPlain, known for the parser's sets only), so that
// appendLabels copies them without checking a byte.
func (d *dimNamer) read(set scrape.LabelSet) (ls scrape.Labels, plain bool) {
	ls, names, values := set.AppendToProps(d.ls[:0])
	d.ls = ls
	return ls, names&values&scrape.PropJSONPlain != 0
}

// appendDims appends `,"name":"value"` for every label.
func (d *dimNamer) appendDims(dst []byte, set scrape.LabelSet) []byte {
	ls, plain := d.read(set)
	return d.appendLabels(dst, ls, plain)
}

// appendLabels is appendDims for labels already decoded; plain as read
// returns it.
func (d *dimNamer) appendLabels(dst []byte, ls scrape.Labels, plain bool) []byte {
	renames := false
	for i := range ls {
		if needsRename(ls[i].Name) {
			renames = true
			break
		}
	}
	if renames {
		if d.taken == nil {
			d.taken = make(map[string]struct{}, len(ls))
		}
		clear(d.taken)
		for i := range ls {
			d.taken[ls[i].Name] = struct{}{}
		}
	}
	for _, l := range ls {
		name := l.Name
		if renames && needsRename(name) {
			name = d.rename(name)
		}
		if plain {
			// A rename only adds RenamePrefix: still plain.
			dst = append(dst, ',', '"')
			dst = append(dst, name...)
			dst = append(dst, '"', ':', '"')
			dst = append(dst, l.Value...)
			dst = append(dst, '"')
			continue
		}
		dst = append(dst, ',')
		dst = jsonw.AppendString(dst, name)
		dst = append(dst, ':')
		dst = jsonw.AppendString(dst, l.Value)
	}
	return dst
}

// rename prefixes name until it is not in use, and marks the result used,
// so it also cannot collide with an earlier rename.
func (d *dimNamer) rename(name string) string {
	out := RenamePrefix + name
	for {
		if _, used := d.taken[out]; !used {
			break
		}
		out = RenamePrefix + out
	}
	d.taken[out] = struct{}{}
	return out
}
