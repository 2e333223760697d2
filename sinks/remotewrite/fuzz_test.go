package remotewrite

import (
	"math"
	"testing"
	"unicode/utf8"

	"github.com/promfwd/promfwd/scrape"
)

// FuzzEncode checks the receiver-side invariants for arbitrary names,
// labels and values: the body decodes, every series has a legal __name__,
// legal label names sorted byte-wise and unique, no empty or invalid UTF-8
// values, and value bits survive.
func FuzzEncode(f *testing.F) {
	f.Add("my.metric-name", "a.b", "x", "a_b", "y", uint64(scrape.StaleNaN), int64(1700000000000))
	f.Add("up", "__name__", "fake", "Zone", "", uint64(0), int64(0))
	f.Add("1st", "le", "+Inf", "quantile", "0.5", math.Float64bits(-1), int64(-5))
	f.Fuzz(func(t *testing.T, name, l1, v1, l2, v2 string, bits uint64, ts int64) {
		in := []scrape.Sample{
			{Name: name, Labels: scrape.SetOf(scrape.Labels{{Name: l1, Value: v1}, {Name: l2, Value: v2}}), Value: math.Float64frombits(bits), TimestampMs: ts},
			{Name: name, Labels: scrape.SetOf(scrape.Labels{{Name: l1, Value: v1}}), Value: 1, TimestampMs: ts},
		}
		s := newTestEncoder(t, 1, 2)
		enc, err := s.Encode(in)
		if err != nil {
			t.Fatal(err)
		}
		carried := 0
		for _, r := range enc.Requests {
			carried += r.Samples
			for _, ts := range decodeBody(t, r.Body) {
				sawName := false
				for i, l := range ts.Labels {
					if l.Name == "__name__" {
						sawName = true
						if !validName(l.Value, true) || l.Value == "" {
							t.Fatalf("illegal metric name %q", l.Value)
						}
					} else if !validName(l.Name, false) || l.Name == "" {
						t.Fatalf("illegal label name %q", l.Name)
					}
					if l.Value == "" || !utf8.ValidString(l.Value) {
						t.Fatalf("label %s has an empty or invalid value %q", l.Name, l.Value)
					}
					if i > 0 && ts.Labels[i-1].Name >= l.Name {
						t.Fatalf("labels not sorted and unique: %v", ts.Labels)
					}
				}
				if !sawName {
					t.Fatalf("series without __name__: %v", ts.Labels)
				}
				for _, smp := range ts.Samples {
					if smp.Bits != bits && smp.Bits != math.Float64bits(1) {
						t.Fatalf("value bits %x, want %x or 1", smp.Bits, bits)
					}
				}
			}
		}
		if carried+enc.Dropped != len(in) {
			t.Fatalf("%d carried + %d dropped != %d in", carried, enc.Dropped, len(in))
		}
	})
}
