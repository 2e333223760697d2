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

// dimName returns the dimension name for labels[i] (see RenamePrefix).
func dimName(ls scrape.Labels, i int) string {
	name := ls[i].Name
	if !needsRename(name) {
		return name
	}
	out := RenamePrefix + name
	for hasLabel(ls, out) {
		out = RenamePrefix + out
	}
	return out
}

func hasLabel(ls scrape.Labels, name string) bool {
	for _, l := range ls {
		if l.Name == name {
			return true
		}
	}
	return false
}

// appendDims appends `,"name":"value"` for every label.
func appendDims(dst []byte, ls scrape.Labels) []byte {
	for i := range ls {
		dst = append(dst, ',')
		dst = jsonw.AppendString(dst, dimName(ls, i))
		dst = append(dst, ':')
		dst = jsonw.AppendString(dst, ls[i].Value)
	}
	return dst
}
