package scrape

import (
	"bytes"
	"unicode/utf8"
	"unsafe"
)

// StrProps are properties of a label name or value that encoders would
// otherwise check on every sample they write. The parser computes them once
// per string, when it enters its target's symbol table, and keeps them in
// spare bits of the symbol's slot (no byte more per symbol or per series);
// LabelSet.AppendToProps reports them for a whole set. A set built outside
// the parser (SetOf) has none: its strings were never checked.
type StrProps uint8

const (
	// PropUTF8: the string is valid UTF-8.
	PropUTF8 StrProps = 1 << iota
	// PropJSONPlain: valid UTF-8 that a JSON string literal holds byte
	// for byte: no '"', '\\', control character (below 0x20), U+2028 or
	// U+2029 (which encoding/json and jsonw escape).
	PropJSONPlain
	// PropLegacyName: a non-empty name in Prometheus' legacy label-name
	// charset [a-zA-Z_][a-zA-Z0-9_]*, which needs no escaping anywhere.
	PropLegacyName

	// PropsAll is every property.
	PropsAll = PropUTF8 | PropJSONPlain | PropLegacyName
)

// The slot of a symbol (symPage) keeps its StrProps in the bits above its
// length.
const (
	propShift = 11
	propMask  = 1<<3 - 1
)

// legacyByte marks [a-zA-Z0-9_]; jsonPlainByte the ASCII bytes a JSON
// string holds as they are.
var legacyByte, jsonPlainByte = func() (l, j [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		b := byte(c)
		l[c] = b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_'
		j[c] = b >= 0x20 && b != '"' && b != '\\'
	}
	return l, j
}()

// PropsOf computes the properties of s.
func PropsOf(s string) StrProps { return propsOf(unsafe.Slice(unsafe.StringData(s), len(s))) }

func propsOf(b []byte) StrProps {
	legacy := len(b) > 0 && !(b[0] >= '0' && b[0] <= '9')
	plain, ascii := true, true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		legacy = legacy && legacyByte[c]
		plain = plain && jsonPlainByte[c]
	}
	p := StrProps(0)
	if ascii {
		p = PropUTF8
	} else {
		legacy = false
		if !utf8.Valid(b) {
			return 0
		}
		p = PropUTF8
		for _, c := range b {
			plain = plain && (c >= utf8.RuneSelf || jsonPlainByte[c])
		}
		// U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
		plain = plain && !bytes.Contains(b, []byte("\u2028")) && !bytes.Contains(b, []byte("\u2029"))
	}
	if plain {
		p |= PropJSONPlain
	}
	if legacy {
		p |= PropLegacyName
	}
	return p
}
