package hec

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks/jsonw"
	"github.com/promfwd/promfwd/sinks/sinktest"
)

// encodePlain returns the uncompressed body of samples in one request.
func encodePlain(t *testing.T, multi bool, samples []scrape.Sample) []byte {
	t.Helper()
	cfg := testConfig("http://127.0.0.1:1")
	cfg.Gzip, cfg.MultiMetric = false, multi
	s, _, _ := newTestSink(t, cfg)
	enc, err := s.Encode(samples)
	if err != nil || len(enc.Requests) != 1 {
		t.Fatalf("Encode = %d requests, %v", len(enc.Requests), err)
	}
	return enc.Requests[0].Body
}

// eventDims decodes the fields of a body's only event.
func eventDims(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var ev struct{ Fields map[string]any }
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return ev.Fields
}

// TestDimsParsedSets encodes the parser's compact label sets, whose strings
// carry scrape.StrProps, and the same labels as a plain set, which has none
// and is escaped byte by byte: the bodies must be the same valid JSON.
// Each case fails if the encoder trusted a string as JSON-plain that is not.
func TestDimsParsedSets(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
		want string // a fragment of the body
	}{
		{"clean", []string{"a", "1", "b", "µs"}, `"a":"1","b":"µs"`},
		{"quote", []string{"q", `say "hi"`}, `"q":"say \"hi\""`},
		{"backslash", []string{"p", `C:\dir`}, `"p":"C:\\dir"`},
		{"newline", []string{"n", "two\nlines"}, `"n":"two\nlines"`},
		{"tab", []string{"t", "a\tb"}, `"t":"a\tb"`},
		{"control", []string{"c", "bell\x07"}, `"c":"bell\u0007"`},
		{"line separator", []string{"s", "a\u2028b"}, `"s":"a\u2028b"`},
		{"name with a quote", []string{`we"ird`, "v"}, `"we\"ird":"v"`},
		{"UTF-8 name", []string{"my.label", "v"}, `"my.label":"v"`},
		{"renamed", []string{"_x", "1", "host", "h"}, `"label__x":"1","label_host":"h"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ls scrape.Labels
			for i := 0; i < len(tt.kv); i += 2 {
				ls = append(ls, scrape.Label{Name: tt.kv[i], Value: tt.kv[i+1]})
			}
			slices.SortFunc(ls, func(a, b scrape.Label) int { return strings.Compare(a.Name, b.Name) })
			built := scrape.Sample{Name: "m", Labels: scrape.SetOf(ls), Value: 1, TimestampMs: testTS}
			parsed := sinktest.Reparse(t, []scrape.Sample{built}, nil)
			if len(parsed) != 1 || !parsed[0].Labels.Equal(built.Labels) {
				t.Fatalf("reparsed %v, want %v", parsed, built.Labels)
			}
			if _, names, _ := parsed[0].Labels.AppendToProps(nil); names == 0 {
				t.Fatal("the parsed set carries no props: not the parser's compact form")
			}
			for _, multi := range []bool{false, true} {
				want := encodePlain(t, multi, []scrape.Sample{built})
				if !bytes.Contains(want, []byte(tt.want)) {
					t.Errorf("multi=%v: built body %s lacks %s", multi, want, tt.want)
				}
				if got := encodePlain(t, multi, parsed); !bytes.Equal(got, want) {
					t.Errorf("multi=%v: parsed body\n%s\nwant\n%s", multi, got, want)
				}
				dims := eventDims(t, want)
				for i, l := range ls {
					if got := dims[dimName(ls, i)]; got != l.Value {
						t.Errorf("multi=%v: dimension %s = %q, want %q", multi, l.Name, got, l.Value)
					}
				}
			}
		})
	}
}

// invalidValue is a rewriter that leaves an invalid UTF-8 value, which the
// parser stores (in its symbol table, unindexed) as it is.
type invalidValue struct{}

func (invalidValue) RewriteSeries(name string, ls scrape.Labels) (string, scrape.Labels, scrape.RewriteVerdict) {
	out := slices.Clone(ls)
	for i := range out {
		out[i].Value += "\xff"
	}
	return name, out, scrape.RewriteKeep
}

// TestDimsInvalidValueInParsedSet: a compact set whose value is not valid
// UTF-8 must not pass as plain; the value is sent with U+FFFD.
func TestDimsInvalidValueInParsedSet(t *testing.T) {
	parsed, err := scrape.NewParser().Parse(scrape.FormatText, []byte("m{a=\"x\"} 1 1700000000000\n"), scrape.ParseOptions{Rewriter: invalidValue{}})
	if err != nil || len(parsed) != 1 || parsed[0].Labels.Get("a") != "x\xff" {
		t.Fatalf("Parse = %v, %v; want one sample with a=\"x\\xff\"", parsed, err)
	}
	for _, multi := range []bool{false, true} {
		if body := encodePlain(t, multi, parsed); !bytes.Contains(body, []byte(`"a":"x\ufffd"`)) {
			t.Errorf("multi=%v: body %s, want a=\"x\\ufffd\"", multi, body)
		}
	}
}

// TestMetricNamesAreJSONPlain: the encoder writes mapped metric names
// without escaping, so no input may map to one that JSON escapes.
func TestMetricNamesAreJSONPlain(t *testing.T) {
	for _, s := range append(propStrings(), "a\u2028b", `x"y`, "_\\", "métric_name", "\x00") {
		out := metricName(s)
		if got := string(jsonw.AppendString(nil, out)); got != `"`+out+`"` {
			t.Errorf("metricName(%q) = %q, which JSON escapes: %s", s, out, got)
		}
	}
}

// TestPropsAgreeWithJSON: a string scrape.PropJSONPlain says needs no
// escaping is written by jsonw as it is.
func TestPropsAgreeWithJSON(t *testing.T) {
	for _, s := range propStrings() {
		if scrape.PropsOf(s)&scrape.PropJSONPlain == 0 {
			continue
		}
		if got := string(jsonw.AppendString(nil, s)); got != `"`+s+`"` {
			t.Errorf("%q: PropJSONPlain, but jsonw writes %s", s, got)
		}
	}
}

// propStrings returns every string of up to three bytes over an alphabet
// that holds each byte class the checks tell apart.
func propStrings() []string {
	alpha := []string{"a", "Z", "_", "0", ":", ".", " ", `"`, `\`, "\n", "\x00", "\x1f", "\x7f", "\xc3", "\xa9", "\xe2\x80\xa8", "\xe2\x80\xa9", "é", "\xff"}
	out := []string{""}
	prev := []string{""}
	for range 3 {
		var next []string
		for _, p := range prev {
			for _, a := range alpha {
				next = append(next, p+a)
			}
		}
		out = append(out, next...)
		prev = next
	}
	return out
}

// TestNamesMemoForgetsOnClear: the lookup memo must not outlive the maps'
// ownership. "a-b" and "a_b" both map to "a_b"; the first seen owns it.
// After the maps start afresh, "a-b" may own it, and the memo must not
// answer with its old verdict.
func TestNamesMemoForgetsOnClear(t *testing.T) {
	n := newNames()
	dotted := strings.Clone("a-b") // one string, looked up by identity
	if _, ok := n.lookup("a_b"); !ok {
		t.Fatal("a_b: not owner of its own name")
	}
	if out, ok := n.lookup(dotted); ok || out != "a_b" {
		t.Fatalf("a-b = %q, %v; want a_b, false (collision)", out, ok)
	}
	if _, ok := n.lookup(dotted); ok {
		t.Fatal("a-b: second lookup turned owner")
	}
	// Fill the maps past the bound without touching the memo, so that
	// dotted's slot still holds its old answer when they are cleared.
	for i := 0; len(n.mapped) < nameCacheMax; i++ {
		n.find("fill_" + strconv.Itoa(i))
	}
	n.find("one_more") // clears both maps
	if out, ok := n.lookup(dotted); !ok || out != "a_b" {
		t.Errorf("after the clear, a-b = %q, %v; want a_b, true (first seen owns it)", out, ok)
	}
}

// TestTimeMemo: the memo writes what appendTime writes, whether the time
// repeats, changes or comes back.
func TestTimeMemo(t *testing.T) {
	var m timeMemo
	for _, ms := range []int64{1700000000123, 1700000000123, 1700000005000, 0, -1500, 1700000000123, 9, 9} {
		if got, want := string(m.append([]byte("x"), ms)), "x"+string(appendTime(nil, ms)); got != want {
			t.Errorf("memo(%d) = %q, want %q", ms, got, want)
		}
	}
}
