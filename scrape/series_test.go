package scrape

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"weak"
)

// TestTargetFreesBatch: once the caller drops a scrape's samples, nothing
// in the Target keeps the batch alive (the parser keeps a SeriesSet), so it
// is freed when the sinks have encoded it. A target that gives validators
// may answer 304 Not Modified, which needs the values: its batch stays.
func TestTargetFreesBatch(t *testing.T) {
	for _, tc := range []struct {
		name     string
		etag     bool
		retained bool
	}{
		{"no validators", false, false},
		{"etag", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := n.Add(1)
				if tc.etag {
					w.Header().Set("ETag", fmt.Sprintf(`"%d"`, i))
				}
				var b strings.Builder
				for s := range 200 {
					fmt.Fprintf(&b, "m{s=\"%d\"} %d\n", s, i)
				}
				_, _ = w.Write([]byte(b.String()))
			}))
			defer srv.Close()
			tg, err := NewTarget(TargetConfig{Name: "w", URL: srv.URL + "/metrics", Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer tg.Close()
			now := time.UnixMilli(ptNow)
			var ptr weak.Pointer[Sample]
			for i := range 3 {
				res := tg.Scrape(context.Background(), now.Add(time.Duration(i)*time.Second))
				if res.Err != nil || len(res.Samples) != 200 || res.Unchanged {
					t.Fatalf("scrape %d: %d samples, unchanged %v, %v", i, len(res.Samples), res.Unchanged, res.Err)
				}
				if !res.Series.Describes(res.Samples) {
					t.Fatalf("scrape %d: Result.Series does not describe Result.Samples", i)
				}
				ptr = weak.Make(&res.Samples[0])
			}
			runtime.GC()
			runtime.GC()
			if got := ptr.Value() != nil; got != tc.retained {
				t.Fatalf("last batch retained by the target: %v, want %v", got, tc.retained)
			}
			// The next scrape still hits the line cache: the same label
			// slices as the set the parser kept.
			res := tg.Scrape(context.Background(), now.Add(time.Hour))
			set := tg.parser.Series()
			if res.Err != nil || set.Len() != 200 || !res.Samples[7].Labels.Same(set.labels(7)) {
				t.Fatalf("after the batch went: %v, set of %d, labels not shared", res.Err, set.Len())
			}
		})
	}
}

// TestTargetIdenticalBodyWithoutBatch: a byte-identical body from a target
// without validators is parsed again (no batch is kept to copy) and still
// comes out Unchanged, stamped with the new time.
func TestTargetIdenticalBodyWithoutBatch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("a 1\nb{x=\"y\"} 2 1700000000000\n"))
	}))
	defer srv.Close()
	tg, err := NewTarget(TargetConfig{Name: "same", URL: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	t0 := time.UnixMilli(ptNow)
	first := tg.Scrape(context.Background(), t0)
	second := tg.Scrape(context.Background(), t0.Add(time.Second))
	if first.Err != nil || second.Err != nil || first.Unchanged || !second.Unchanged {
		t.Fatalf("first %v unchanged %v, second %v unchanged %v", first.Err, first.Unchanged, second.Err, second.Unchanged)
	}
	if len(second.Samples) != 2 || second.Samples[0].TimestampMs != ptNow+1000 || second.Samples[1].TimestampMs != 1700000000000 {
		t.Fatalf("second: %+v", second.Samples)
	}
	if second.Series != first.Series {
		t.Fatal("a steady scrape built a new SeriesSet")
	}
}

// TestSeriesSetNext: Next keeps the set when the identities are the same,
// shares its entries when only a Meta changed, and builds a new set
// otherwise; a set always describes the samples it was made for.
func TestSeriesSetNext(t *testing.T) {
	m1, m2 := &Meta{Family: "f"}, &Meta{Family: "f"}
	mk := func(name, v string, meta *Meta) Sample {
		ls := Labels{{Name: "k", Value: v}}
		return Sample{Name: name, Labels: SetOf(ls), Meta: meta, Kind: KindGauge, Hash: SeriesHash(name, ls)}
	}
	base := []Sample{mk("f", "a", m1), mk("f", "b", m1), mk("g", "a", nil)}
	s := NewSeriesSet(base)
	if !s.Describes(base) || len(s.refs) != 2 {
		t.Fatalf("set of %d refs does not describe its samples", len(s.refs))
	}
	for _, tc := range []struct {
		name  string
		out   []Sample
		reuse bool // the same *SeriesSet
		share bool // the same entries
	}{
		{"same", []Sample{mk("f", "a", m1), mk("f", "b", m1), mk("g", "a", nil)}, true, true},
		{"new meta", []Sample{mk("f", "a", m2), mk("f", "b", m2), mk("g", "a", nil)}, false, true},
		{"split meta", []Sample{mk("f", "a", m1), mk("f", "b", m2), mk("g", "a", nil)}, false, false},
		{"value of a label", []Sample{mk("f", "a", m1), mk("f", "c", m1), mk("g", "a", nil)}, false, false},
		{"kind", []Sample{mk("f", "a", m1), func() Sample { x := mk("f", "b", m1); x.Kind = KindCounter; return x }(), mk("g", "a", nil)}, false, false},
		{"shorter", []Sample{mk("f", "a", m1)}, false, false},
		{"empty", nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := s.Next(tc.out)
			if !n.Describes(tc.out) {
				t.Fatal("Next does not describe its samples")
			}
			if (n == s) != tc.reuse {
				t.Errorf("reused: %v, want %v", n == s, tc.reuse)
			}
			shared := n.Len() > 0 && &n.hashes[0] == &s.hashes[0]
			if shared != tc.share {
				t.Errorf("entries shared: %v, want %v", shared, tc.share)
			}
			for i := range tc.out {
				got := n.Sample(i)
				want := tc.out[i]
				want.Value, want.TimestampMs = 0, 0
				if got.Name != want.Name || got.Meta != want.Meta || got.Kind != want.Kind || got.Hash != want.Hash || !got.Labels.Equal(want.Labels) {
					t.Errorf("sample %d: %+v, want %+v", i, got, want)
				}
			}
		})
	}
	if s.Describes(base[:2]) || (*SeriesSet)(nil).Len() != 0 {
		t.Fatal("Describes or Len of nil wrong")
	}
}

// BenchmarkSeriesSetNext is what a steady scrape adds to a Parse: the pass
// that finds the last scrape's SeriesSet still describes the new samples
// (text: the label slices are the same memory; protobuf: compared by
// content).
func BenchmarkSeriesSetNext(b *testing.B) {
	for _, f := range []Format{FormatText, FormatProtobuf} {
		b.Run(f.String(), func(b *testing.B) {
			body := ptEncode(b, ptGenFamilies(ptBenchSeries, 1), f)
			p := NewParser()
			opt := ParseOptions{NowMs: ptNow, TargetLabels: Labels{{Name: "instance", Value: "target:9100"}, {Name: "job", Value: "bench"}}}
			if _, err := p.Parse(f, body, opt); err != nil {
				b.Fatal(err)
			}
			out, err := p.Parse(f, body, opt)
			if err != nil {
				b.Fatal(err)
			}
			set := p.Series()
			b.ResetTimer()
			for b.Loop() {
				if set.Next(out) != set {
					b.Fatal("a steady scrape's set was not kept")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(out)), "ns/sample")
		})
	}
}

// TestSeriesSetLayouts: a set packs its entries (16 bytes, the labels read
// through one view) only when every label set is the compact form of one
// table; mixed forms or two tables keep the sets whole. Either way each
// sample's labels and identity come back, and Next keeps the set for the
// same samples.
func TestSeriesSetLayouts(t *testing.T) {
	parsed := func(tl Labels) []Sample {
		p := NewParser()
		out, err := p.Parse(FormatText, []byte("a{x=\"1\"} 1\nb 2\nc{y=\"2\",z=\"3\"} 3\n"), ParseOptions{TargetLabels: tl})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	one := parsed(Labels{{"job", "j"}})
	other := parsed(nil)
	plain := Sample{Name: "d", Labels: SetFrom("w", "4"), Hash: SeriesHash("d", Labels{{"w", "4"}})}
	for _, tc := range []struct {
		name   string
		in     []Sample
		packed bool
	}{
		{"one table", one, true},
		{"one table, no labels", []Sample{{Name: "e", Hash: SeriesHash("e", nil)}}, true},
		{"with a plain set", append(slices.Clone(one), plain), false},
		{"two tables", append(slices.Clone(one), other...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSeriesSet(tc.in)
			if packed := s.wide == nil; packed != tc.packed {
				t.Fatalf("packed %v, want %v", packed, tc.packed)
			}
			for i := range tc.in {
				got := s.Sample(i)
				if got.Name != tc.in[i].Name || !got.Labels.Equal(tc.in[i].Labels) || got.Hash != tc.in[i].Hash ||
					got.Labels.SeriesHash(got.Name) != tc.in[i].Labels.SeriesHash(tc.in[i].Name) {
					t.Fatalf("sample %d: %s%s, want %s%s", i, got.Name, got.Labels, tc.in[i].Name, tc.in[i].Labels)
				}
				if tc.packed && !got.Labels.Same(tc.in[i].Labels) {
					t.Fatalf("sample %d: packed labels are not the parser's set", i)
				}
			}
			if !s.Describes(tc.in) || s.Next(tc.in) != s {
				t.Fatal("the set does not describe its own samples")
			}
		})
	}
}
