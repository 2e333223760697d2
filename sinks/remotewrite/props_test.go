package remotewrite

import (
	"slices"
	"testing"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks/sinktest"
)

// sentLabels encodes one sample and returns its series' labels as sent.
func sentLabels(t *testing.T, s scrape.Sample) []wireLabel {
	t.Helper()
	s.Meta = nil // no metadata request
	enc, err := newTestEncoder(t, DefaultMaxSamplesPerSend, 1).Encode([]scrape.Sample{s})
	if err != nil || len(enc.Requests) != 1 {
		t.Fatalf("Encode = %d requests, %v", len(enc.Requests), err)
	}
	series := decodeBody(t, enc.Requests[0].Body)
	if len(series) != 1 {
		t.Fatalf("%d series, want 1", len(series))
	}
	return series[0].Labels
}

// TestResolveParsedSets encodes the parser's compact label sets, whose
// strings carry scrape.StrProps, and the same labels as a plain set, which
// has none and is checked label by label: both must be sent as the legacy
// charset requires. Each case fails if resolve trusted a set as clean that
// is not (a name left unescaped, __name__ out of order).
func TestResolveParsedSets(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
		want []wireLabel
	}{
		{"clean", []string{"a", "1", "b", "µs"}, lbl("__name__", "m", "a", "1", "b", "µs")},
		{"UTF-8 name", []string{"a", "1", "my.label", "v"}, lbl("__name__", "m", "a", "1", "my_label", "v")},
		{"leading digit", []string{"1x", "v"}, lbl("_1x", "v", "__name__", "m")},
		{"non-ASCII name", []string{"ünï", "v", "z", "w"}, lbl("__name__", "m", "_n_", "v", "z", "w")},
		{"name before __name__", []string{"Zeta", "1", "a", "2"}, lbl("Zeta", "1", "__name__", "m", "a", "2")},
		{"names escaping alike", []string{"a.b", "1", "a_b", "2"}, lbl("__name__", "m", "a_b", "1")},
		{"quotes and backslashes", []string{"q", `say "hi" \o/`}, lbl("__name__", "m", "q", `say "hi" \o/`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := sortedLabels(tt.kv...)
			built := scrape.Sample{Name: "m", Labels: scrape.SetOf(ls), Value: 1, TimestampMs: 1700000000000, Hash: scrape.SeriesHash("m", ls)}
			parsed := sinktest.Reparse(t, []scrape.Sample{built}, nil)
			if len(parsed) != 1 || !parsed[0].Labels.Equal(built.Labels) {
				t.Fatalf("reparsed %v, want %v", parsed, built.Labels)
			}
			if _, names, _ := parsed[0].Labels.AppendToProps(nil); names == 0 {
				t.Fatal("the parsed set carries no props: not the parser's compact form")
			}
			for src, s := range map[string]scrape.Sample{"built": built, "parsed": parsed[0]} {
				if got := sentLabels(t, s); !slices.Equal(got, tt.want) {
					t.Errorf("%s: sent %v, want %v", src, got, tt.want)
				}
			}
		})
	}
}

// sortedLabels returns the labels of kv, sorted.
func sortedLabels(kv ...string) scrape.Labels {
	var ls scrape.Labels
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, scrape.Label{Name: kv[i], Value: kv[i+1]})
	}
	sortLabels(ls)
	return ls
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

// TestResolveInvalidValueInParsedSet: a compact set whose value is not
// valid UTF-8 must not pass as clean; the value is sent with U+FFFD, as a
// plain set's is.
func TestResolveInvalidValueInParsedSet(t *testing.T) {
	parsed, err := scrape.NewParser().Parse(scrape.FormatText, []byte("m{a=\"x\"} 1 1700000000000\n"), scrape.ParseOptions{Rewriter: invalidValue{}})
	if err != nil || len(parsed) != 1 || parsed[0].Labels.Get("a") != "x\xff" {
		t.Fatalf("Parse = %v, %v; want one sample with a=\"x\\xff\"", parsed, err)
	}
	built := smp("m", 1700000000000, 1, "a", "x\xff")
	want := lbl("__name__", "m", "a", "x\uFFFD")
	for src, s := range map[string]scrape.Sample{"built": built, "parsed": parsed[0]} {
		if got := sentLabels(t, s); !slices.Equal(got, want) {
			t.Errorf("%s: sent %q, want %q", src, got, want)
		}
	}
}

// TestPropsAgreeWithEscaping: whatever a string's props promise, the
// checks they stand in for agree.
func TestPropsAgreeWithEscaping(t *testing.T) {
	for _, s := range propStrings() {
		p := scrape.PropsOf(s)
		if p&scrape.PropLegacyName != 0 && (s == "" || EscapeLabelName(s) != s) {
			t.Errorf("%q: PropLegacyName, but EscapeLabelName gives %q", s, EscapeLabelName(s))
		}
		if p&scrape.PropUTF8 != 0 && validUTF8(s) != s {
			t.Errorf("%q: PropUTF8, but it is not valid UTF-8", s)
		}
	}
}

// propStrings returns every string of up to three bytes over an alphabet
// that holds each byte class the checks tell apart.
func propStrings() []string {
	alpha := []string{"a", "Z", "_", "0", ":", ".", "-", " ", `"`, `\`, "\n", "\x00", "\x7f", "\xc3", "\xa9", "\xe2\x80\xa8", "é", "\xff"}
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
