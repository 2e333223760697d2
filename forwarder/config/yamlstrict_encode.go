package config

import (
	"fmt"
	"reflect"
	"strings"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// The encoder mirrors the decoder: it renders a config back to YAML that the
// decoder accepts (durations as 1h30m, never 1h30m0s or 1.5s), and it prints
// every commoncfg.Secret as <secret> regardless of
// commoncfg.MarshalSecretValue, a process-wide switch another package could flip.

// secretPlaceholder replaces every secret in Redacted output.
const secretPlaceholder = "<secret>"

// nodeEncoder is implemented by config types that render themselves
// (SinkConfig flattens its common and type-specific keys).
type nodeEncoder interface {
	encodeNode() (*yaml.Node, error)
}

var secretType = reflect.TypeFor[commoncfg.Secret]()

func scalarNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func nullNode() *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}

// encodeValue renders v as a YAML node.
func encodeValue(v reflect.Value) (*yaml.Node, error) {
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
		return nullNode(), nil
	}
	if ne, ok := asInterface[nodeEncoder](v); ok {
		return ne.encodeNode()
	}
	switch v.Type() {
	case secretType:
		if v.String() == "" {
			return scalarNode(""), nil
		}
		return scalarNode(secretPlaceholder), nil
	case durationType:
		return scalarNode(model.Duration(v.Int()).String()), nil
	}
	if m, ok := asInterface[yaml.Marshaler](v); ok {
		out, err := m.MarshalYAML()
		if err != nil {
			return nil, fmt.Errorf("marshal %s: %w", v.Type(), err)
		}
		if out == nil {
			return nullNode(), nil
		}
		n := &yaml.Node{}
		if err := n.Encode(out); err != nil {
			return nil, fmt.Errorf("encode %s: %w", v.Type(), err)
		}
		return n, nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return encodeValue(v.Elem())
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode}
		if err := appendFields(n, v); err != nil {
			return nil, err
		}
		if len(n.Content) == 0 {
			n.Style = yaml.FlowStyle
		}
		return n, nil
	case reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode}
		if err := appendMap(n, v); err != nil {
			return nil, err
		}
		if len(n.Content) == 0 {
			n.Style = yaml.FlowStyle
		}
		return n, nil
	case reflect.Slice, reflect.Array:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for i := 0; i < v.Len(); i++ {
			item, err := encodeValue(v.Index(i))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, item)
		}
		if len(n.Content) == 0 {
			n.Style = yaml.FlowStyle
		}
		return n, nil
	}
	n := &yaml.Node{}
	if err := n.Encode(v.Interface()); err != nil {
		return nil, fmt.Errorf("encode %s: %w", v.Type(), err)
	}
	return n, nil
}

// asInterface reports whether v, or a pointer to it, implements I.
func asInterface[I any](v reflect.Value) (I, bool) {
	var zero I
	it := reflect.TypeFor[I]()
	if v.Type().Implements(it) && v.CanInterface() {
		i, ok := v.Interface().(I)
		return i, ok
	}
	if reflect.PointerTo(v.Type()).Implements(it) {
		if !v.CanAddr() {
			c := reflect.New(v.Type())
			c.Elem().Set(v)
			v = c.Elem()
		}
		i, ok := v.Addr().Interface().(I)
		return i, ok
	}
	return zero, false
}

// appendFields adds a struct's fields (inlined ones flattened) to mapping n.
func appendFields(n *yaml.Node, v reflect.Value) error {
	for _, f := range orderedFields(v.Type()) {
		fv, ok := fieldGet(v, f.index)
		if !ok {
			continue
		}
		if f.name == "" {
			if err := appendMap(n, fv); err != nil {
				return err
			}
			continue
		}
		if f.omitEmpty && isEmptyValue(fv) {
			continue
		}
		val, err := encodeValue(fv)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		n.Content = append(n.Content, scalarNode(f.name), val)
	}
	return nil
}

func appendMap(n *yaml.Node, m reflect.Value) error {
	for _, k := range sortedKeys(m) {
		val, err := encodeValue(m.MapIndex(k))
		if err != nil {
			return fmt.Errorf("%s: %w", k.String(), err)
		}
		n.Content = append(n.Content, scalarNode(k.String()), val)
	}
	return nil
}

// fieldGet follows index through inlined pointers; false when one is nil.
func fieldGet(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// isEmptyValue follows yaml.v3's omitempty: zero values, and empty maps and slices.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Map, reflect.Slice:
		return v.Len() == 0
	}
	return v.IsZero()
}

// escapeDollars doubles every $ in string values (not keys) so rendered
// output loads back unchanged through ${VAR} expansion. Relabel rules are
// never expanded (isRelabelKey), so their $1 stays as it is.
func escapeDollars(n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if !isRelabelKey(n.Content[i-1].Value) {
				escapeDollars(n.Content[i])
			}
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			escapeDollars(c)
		}
	case yaml.ScalarNode:
		if n.ShortTag() == "!!str" {
			n.Value = strings.ReplaceAll(n.Value, "$", "$$")
		}
	}
}
