package scrape

import (
	"slices"
	"strings"
	"testing"
)

// propCases are strings with each way of failing each property.
var propCases = []struct {
	s    string
	want StrProps
}{
	{"", PropUTF8 | PropJSONPlain},
	{"job", PropsAll},
	{"_x9", PropsAll},
	{"9x", PropUTF8 | PropJSONPlain},            // a leading digit: not a legacy name
	{"a.b", PropUTF8 | PropJSONPlain},           // '.' outside the charset
	{"a:b", PropUTF8 | PropJSONPlain},           // ':' is a metric-name byte only
	{"a-b c", PropUTF8 | PropJSONPlain},         // '-' and ' '
	{`a"b`, PropUTF8},                           // JSON escapes quotes
	{`a\b`, PropUTF8},                           // and backslashes
	{"a\nb", PropUTF8},                          // and control characters
	{"\x01", PropUTF8},                          //
	{"tab\there", PropUTF8},                     //
	{"\x7f", PropUTF8 | PropJSONPlain},          // DEL is no control character to JSON
	{"µs", PropUTF8 | PropJSONPlain},            // valid non-ASCII
	{"ünï.code", PropUTF8 | PropJSONPlain},      //
	{"line\u2028sep", PropUTF8},                 // U+2028 and U+2029 are escaped
	{"\u2029", PropUTF8},                        //
	{"\u2027\u202a", PropUTF8 | PropJSONPlain},  // their neighbours are not
	{"a\xffb", 0},                               // invalid UTF-8
	{"\xc3", 0},                                 // a truncated sequence
	{"é\xe2\x80", 0},                            //
	{`"é`, PropUTF8},                            // non-ASCII after a quote
	{"é\"", PropUTF8},                           // a quote after non-ASCII
	{strings.Repeat("v", 2000), PropsAll},       // a string with a chunk of its own
	{strings.Repeat("v", 2000) + `"`, PropUTF8}, //
	{strings.Repeat("é", 600) + "\xff", 0},      //
}

func TestPropsOf(t *testing.T) {
	for _, c := range propCases {
		if got := PropsOf(c.s); got != c.want {
			t.Errorf("PropsOf(%.20q) = %03b, want %03b", c.s, got, c.want)
		}
	}
}

// TestSymbolProps checks that the symbol table keeps each string's
// properties beside it, whichever way it was added, without disturbing the
// string: shared and own chunks, checked (bytes) and unchecked (own) adds,
// and a table whose index was dropped and rebuilt.
func TestSymbolProps(t *testing.T) {
	tab := newSymTable(Labels{{"instance", "a:1"}, {"job", "j"}})
	refs := make([]uint32, len(propCases))
	for i, c := range propCases {
		if i%2 == 0 {
			refs[i] = tab.ref(c.s)
		} else {
			refs[i] = tab.addString(c.s)
		}
	}
	tab.idx = nil // as endParse drops it
	for i, c := range propCases {
		s, p := tab.view.strProps(refs[i])
		if s != c.s || p != c.want {
			t.Errorf("symbol %d = %.20q, %03b; want %.20q, %03b", refs[i], s, p, c.s, c.want)
		}
		if c.want&PropUTF8 != 0 && tab.index()[c.s] != refs[i] && i%2 == 0 {
			t.Errorf("rebuilt index lost %.20q", c.s)
		}
	}
	for _, l := range []Label{{"instance", "a:1"}, {"job", "j"}} {
		if _, p := tab.view.strProps(tab.ref(l.Value)); p != PropsOf(l.Value) {
			t.Errorf("target value %q: props %03b", l.Value, p)
		}
	}
}

func TestAppendToProps(t *testing.T) {
	tl := Labels{{"instance", "a:1"}, {"job", "j"}}
	tests := []struct {
		name          string
		ls            Labels
		names, values StrProps
	}{
		{"clean", Labels{{"code", "200"}, {"instance", "a:1"}, {"job", "j"}}, PropsAll, PropUTF8 | PropJSONPlain},
		{"only target labels", Labels{{"instance", "a:1"}, {"job", "j"}}, PropsAll, PropUTF8 | PropJSONPlain},
		{"a quote in one value", Labels{{"a", "x"}, {"b", `say "hi"`}, {"instance", "a:1"}, {"job", "j"}}, PropsAll, PropUTF8},
		{"non-ASCII value", Labels{{"a", "µs"}, {"instance", "a:1"}, {"job", "j"}}, PropsAll, PropUTF8 | PropJSONPlain},
		{"invalid value", Labels{{"a", "\xff"}, {"instance", "a:1"}, {"job", "j"}}, PropsAll, 0},
		{"UTF-8 name", Labels{{"instance", "a:1"}, {"job", "j"}, {"my.label", "v"}}, PropUTF8 | PropJSONPlain, PropUTF8 | PropJSONPlain},
		{"name needing JSON escapes", Labels{{"a\nb", "v"}, {"instance", "a:1"}, {"job", "j"}}, PropUTF8, PropUTF8 | PropJSONPlain},
		{"target labels not all there", Labels{{"instance", "b:2"}, {"job", "j"}, {"x", "1\\2"}}, PropsAll, PropUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := newSymTable(tl)
			var a labelArena
			set := a.encode(tab, tt.ls)
			got, names, values := set.AppendToProps(Labels{{"keep", "me"}})
			if !slices.Equal(got[1:], tt.ls) || got[0] != (Label{"keep", "me"}) {
				t.Fatalf("AppendToProps = %v, want keep=me then %v", got, tt.ls)
			}
			if names != tt.names || values != tt.values {
				t.Errorf("props = names %03b values %03b, want %03b %03b", names, values, tt.names, tt.values)
			}
			// A plain set of the same labels reports nothing.
			if _, n, v := SetOf(tt.ls).AppendToProps(nil); n != 0 || v != 0 {
				t.Errorf("plain set: props %03b %03b, want none", n, v)
			}
		})
	}
}
