package config

import (
	"reflect"
	"sort"
	"strings"
)

// field describes one yaml key of a struct, possibly inside inlined structs.
type field struct {
	name      string
	index     []int
	omitEmpty bool
}

// structFields maps yaml keys to field indexes following yaml.v3's rules:
// `yaml:"-"` skips, `,inline` flattens a struct or collects unknown keys in
// a map, untagged fields use the lower-cased Go name, unexported fields are
// ignored. It returns the inline map's index, if any.
func structFields(t reflect.Type) (map[string]field, []int) {
	fields := map[string]field{}
	var inlineMap []int
	for _, f := range orderedFields(t) {
		if f.name == "" {
			inlineMap = f.index
			continue
		}
		fields[f.name] = f
	}
	return fields, inlineMap
}

// orderedFields lists a struct's yaml fields in declaration order; an inline
// map is returned with an empty name.
func orderedFields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.PkgPath != "" && !sf.Anonymous {
			continue
		}
		tag := sf.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		inline := strings.Contains(","+opts+",", ",inline,")
		omit := strings.Contains(","+opts+",", ",omitempty,")
		if inline {
			ft := sf.Type
			if ft.Kind() == reflect.Map {
				out = append(out, field{index: []int{i}})
				continue
			}
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for _, sub := range orderedFields(ft) {
				sub.index = append([]int{i}, sub.index...)
				out = append(out, sub)
			}
			continue
		}
		if sf.PkgPath != "" {
			continue // unexported embedded type without inline
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		out = append(out, field{name: name, index: []int{i}, omitEmpty: omit})
	}
	return out
}

// fieldAlloc returns the field at index, allocating nil pointers to inlined
// structs on the way.
func fieldAlloc(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// sortedKeys returns a map's string keys in order.
func sortedKeys(m reflect.Value) []reflect.Value {
	keys := m.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}
