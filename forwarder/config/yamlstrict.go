package config

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// yaml.v3's Node.Decode ignores unknown keys and reports type errors with a
// line only, so the config is decoded by walking the node tree against the
// Go types' yaml tags: every unknown key, type mismatch and bad value is
// reported with file:line:col and the field path. Types with their own
// UnmarshalYAML (prometheus/common's Secret, TLSConfig, BasicAuth, ...) are
// still walked field by field for strictness, then handed to yaml.v3 so their
// own defaults and validation run.

// maxDecodeSteps bounds the work an alias-heavy document can cause.
const maxDecodeSteps = 1 << 20

// nodeDecoder is implemented by config types that decode themselves from a
// node with the decoder's position-aware errors (SinkConfig).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string) error
}

// defaulter is implemented by config types whose defaults must be set
// before their mapping is decoded (list elements have no other hook).
type defaulter interface {
	setDefaults()
}

type decoder struct {
	file    string
	tainted map[*yaml.Node]bool // scalars holding a value from the environment
	steps   int
}

var (
	durationType      = reflect.TypeFor[time.Duration]()
	urlType           = reflect.TypeFor[commoncfg.URL]()
	unmarshalerType   = reflect.TypeFor[yaml.Unmarshaler]()
	obsoleteUnmarshal = reflect.TypeFor[interface {
		UnmarshalYAML(func(any) error) error
	}]()
)

// errf builds a *ConfigError positioned at n. Values that came from the
// environment are scrubbed from the message: a token expanded into the
// wrong field must not surface in an error.
func (d *decoder) errf(n *yaml.Node, path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	for tn := range d.tainted {
		if tn.Value != "" && (len(tn.Value) >= 6 || tn == n) {
			msg = strings.ReplaceAll(msg, tn.Value, "<from environment>")
			if q := strconv.Quote(tn.Value); q[1:len(q)-1] != tn.Value {
				msg = strings.ReplaceAll(msg, q[1:len(q)-1], "<from environment>")
			}
		}
	}
	e := &ConfigError{File: d.file, Path: path, Msg: msg}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// show quotes a scalar for an error message, unless it came from the
// environment (it may be a secret that landed in the wrong field).
func (d *decoder) show(n *yaml.Node) string {
	if d.tainted[n] {
		return "(value from environment)"
	}
	v := n.Value
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	return strconv.Quote(v)
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	}
	return "a string"
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func hasUnmarshaler(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(unmarshalerType) || pt.Implements(obsoleteUnmarshal)
}

// decode stores n into v (addressable), reporting errors at path. A null
// node leaves v untouched, so defaults set before decoding survive.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) error {
	if d.steps++; d.steps > maxDecodeSteps {
		return d.errf(n, path, "document too large or too many aliases")
	}
	n = resolveAlias(n)
	if n.Kind == yaml.AliasNode {
		return d.errf(n, path, "unresolvable alias")
	}
	if isNull(n) {
		return nil
	}
	if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
		return nd.decodeNode(d, n, path)
	}
	t := v.Type()
	switch t {
	case durationType:
		return d.duration(n, v, path)
	case urlType:
		return d.url(n, v, path)
	}
	if hasUnmarshaler(t) && (t.Kind() != reflect.Struct || n.Kind != yaml.MappingNode) {
		return d.viaYAML(n, v, path)
	}
	switch t.Kind() {
	case reflect.Pointer:
		nv := reflect.New(t.Elem())
		if !v.IsNil() {
			nv.Elem().Set(v.Elem())
		}
		if err := d.decode(n, nv.Elem(), path); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	case reflect.Struct:
		if df, ok := v.Addr().Interface().(defaulter); ok && n.Kind == yaml.MappingNode {
			df.setDefaults()
		}
		if err := d.structure(n, v, path, nil); err != nil {
			return err
		}
		if hasUnmarshaler(t) {
			// Strictness is checked; now let the type apply its own
			// defaults and validation.
			return d.viaYAML(n, v, path)
		}
		return nil
	case reflect.Map:
		return d.mapping(n, v, path)
	case reflect.Slice:
		return d.sequence(n, v, path)
	case reflect.Interface:
		return d.viaYAML(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return d.errf(n, path, "expected a string, got %s", describe(n))
		}
		v.SetString(n.Value)
		return nil
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return d.number(n, v, path)
	}
	return d.errf(n, path, "cannot decode into Go type %s", t)
}

func (d *decoder) number(n *yaml.Node, v reflect.Value, path string) error {
	want := "a number"
	switch v.Kind() {
	case reflect.Bool:
		want = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "an integer"
	}
	if n.Kind != yaml.ScalarNode {
		return d.errf(n, path, "expected %s, got %s", want, describe(n))
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		return d.errf(n, path, "expected %s, got %s", want, d.show(n))
	}
	return nil
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.ScalarNode {
		return d.errf(n, path, "expected a duration such as 30s or 5m, got %s", describe(n))
	}
	md, err := model.ParseDuration(n.Value)
	if err != nil {
		return d.errf(n, path, "invalid duration %s (use a number and a unit: ms, s, m, h, d, w, y)", d.show(n))
	}
	v.SetInt(int64(md))
	return nil
}

// url parses a commoncfg.URL itself: url.Parse errors quote the whole URL,
// which may carry a password.
func (d *decoder) url(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.ScalarNode {
		return d.errf(n, path, "expected a URL, got %s", describe(n))
	}
	u, err := url.Parse(n.Value)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return d.errf(n, path, "invalid URL: %v", err)
	}
	v.Set(reflect.ValueOf(commoncfg.URL{URL: u}))
	return nil
}

// viaYAML hands a node to yaml.v3 (for types with their own UnmarshalYAML).
func (d *decoder) viaYAML(n *yaml.Node, v reflect.Value, path string) error {
	if err := n.Decode(v.Addr().Interface()); err != nil {
		msg := err.Error()
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msg = strings.Join(te.Errors, "; ")
			if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "line ") && i > 0 {
				msg = msg[i+2:]
			}
		}
		if n.Kind == yaml.ScalarNode && d.tainted[n] {
			msg = "invalid value (value from environment)"
		}
		return d.errf(n, path, "%s", msg)
	}
	return nil
}

// keyOf checks that a mapping key is a plain scalar.
func (d *decoder) keyOf(k *yaml.Node, path string) (string, error) {
	k = resolveAlias(k)
	if k.Kind != yaml.ScalarNode {
		return "", d.errf(k, path, "mapping keys must be strings, got %s", describe(k))
	}
	if k.Value == "<<" && k.Style == 0 {
		return "", d.errf(k, path, "merge keys (<<) are not supported")
	}
	return k.Value, nil
}

// structure decodes a mapping into a struct, rejecting unknown keys. also
// lists further accepted keys, only used for "did you mean" suggestions.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string, also []string) error {
	if n.Kind != yaml.MappingNode {
		return d.errf(n, path, "expected a mapping, got %s", describe(n))
	}
	fields, inlineMap := structFields(v.Type())
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	var errs collect // every bad key of the mapping, not only the first
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, err := d.keyOf(n.Content[i], path)
		if errs.add(err) {
			continue
		}
		kpath := joinPath(path, key)
		if prev, dup := seen[key]; dup {
			errs.add(d.errf(n.Content[i], kpath, "field already set at line %d", prev.Line))
			continue
		}
		seen[key] = n.Content[i]
		f, ok := fields[key]
		if !ok {
			if inlineMap != nil {
				errs.add(d.mapEntry(n.Content[i], n.Content[i+1], fieldAlloc(v, inlineMap), kpath))
				continue
			}
			names := make([]string, 0, len(fields)+len(also))
			for name := range fields {
				names = append(names, name)
			}
			names = append(names, also...)
			errs.add(d.errf(n.Content[i], kpath, "%s", unknownFieldMsg(path, key, names)))
			continue
		}
		errs.add(d.decode(n.Content[i+1], fieldAlloc(v, f.index), kpath))
	}
	return errs.err()
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return d.errf(n, path, "expected a mapping, got %s", describe(n))
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, err := d.keyOf(n.Content[i], path)
		if err != nil {
			return err
		}
		if line, dup := seen[key]; dup {
			return d.errf(n.Content[i], joinPath(path, key), "key already set at line %d", line)
		}
		seen[key] = n.Content[i].Line
		if err := d.mapEntry(n.Content[i], n.Content[i+1], v, joinPath(path, key)); err != nil {
			return err
		}
	}
	return nil
}

// mapEntry decodes one key/value pair into the map m. Empty mappings leave a
// nil map nil, so a config re-loaded from its own output compares equal.
func (d *decoder) mapEntry(k, val *yaml.Node, m reflect.Value, path string) error {
	t := m.Type()
	if t.Key().Kind() != reflect.String {
		return d.errf(k, path, "cannot decode into Go map type %s", t)
	}
	ev := reflect.New(t.Elem()).Elem()
	if err := d.decode(val, ev, path); err != nil {
		return err
	}
	if m.IsNil() {
		m.Set(reflect.MakeMap(t))
	}
	m.SetMapIndex(reflect.ValueOf(resolveAlias(k).Value).Convert(t.Key()), ev)
	return nil
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.SequenceNode {
		return d.errf(n, path, "expected a list, got %s", describe(n))
	}
	if len(n.Content) == 0 {
		v.SetZero()
		return nil
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	var errs collect
	for i, item := range n.Content {
		if s.Index(i).Kind() == reflect.Pointer && isNull(resolveAlias(item)) {
			// `-` alone: Prometheus refuses an empty or null rule too.
			errs.add(d.errf(item, indexPath(path, i), "empty list item"))
			continue
		}
		errs.add(d.decode(item, s.Index(i), indexPath(path, i)))
	}
	v.Set(s)
	return errs.err()
}
