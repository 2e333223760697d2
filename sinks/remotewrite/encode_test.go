package remotewrite

import (
	"math"
	"reflect"
	"testing"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// smp builds a sample; kv are label name/value pairs, kept in the given order.
func smp(name string, ts int64, val float64, kv ...string) scrape.Sample {
	var ls scrape.Labels
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, scrape.Label{Name: kv[i], Value: kv[i+1]})
	}
	return scrape.Sample{Name: name, Labels: scrape.SetOf(ls), Value: val, TimestampMs: ts, Hash: scrape.SeriesHash(name, ls)}
}

func lbl(kv ...string) []wireLabel {
	var out []wireLabel
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, wireLabel{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// histogram expands one histogram series (3 buckets, _sum, _count) the way
// the parser does: contiguous, sharing meta.
func histogram(meta *scrape.Meta, ts int64, scale float64, kv ...string) []scrape.Sample {
	var out []scrape.Sample
	for i, le := range []string{"0.1", "1", "+Inf"} {
		s := smp(meta.Family+"_bucket", ts, scale*float64(i+1), append(append([]string(nil), kv...), "le", le)...)
		s.Kind, s.Meta = scrape.KindHistogramBucket, meta
		sortLabels(s.Labels.Labels())
		out = append(out, s)
	}
	sum := smp(meta.Family+"_sum", ts, scale*1.5, kv...)
	sum.Kind, sum.Meta = scrape.KindHistogramSum, meta
	cnt := smp(meta.Family+"_count", ts, scale*3, kv...)
	cnt.Kind, cnt.Meta = scrape.KindHistogramCount, meta
	return append(out, sum, cnt)
}

func sortLabels(ls scrape.Labels) {
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j-1].Name > ls[j].Name; j-- {
			ls[j-1], ls[j] = ls[j], ls[j-1]
		}
	}
}

func newTestEncoder(t testing.TB, maxSamples, shards int) *Sink {
	t.Helper()
	cfg := DefaultConfig()
	cfg.URL = "http://127.0.0.1:1/api/v1/write"
	cfg.MaxSamplesPerSend = maxSamples
	cfg.Shards = shards
	s, err := New(cfg, sinks.Settings{Name: "rw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestEncodeRoundTrip(t *testing.T) {
	stale := math.Float64frombits(scrape.StaleNaN)
	cases := []struct {
		name        string
		in          []scrape.Sample
		want        []wireSeries
		wantDropped int
	}{
		{
			name: "series in order of first appearance, __name__ included",
			in:   []scrape.Sample{smp("up", 1000, 1, "job", "a"), smp("temp", 1000, 21.5)},
			want: []wireSeries{
				{Labels: lbl("__name__", "up", "job", "a"), Samples: []wireSample{{v(1), 1000}}},
				{Labels: lbl("__name__", "temp"), Samples: []wireSample{{v(21.5), 1000}}},
			},
		},
		{
			name: "upper-case names sort before __name__",
			in:   []scrape.Sample{smp("m", 5, 1, "Zone", "eu", "a", "1", "instance", "x")},
			want: []wireSeries{{Labels: lbl("Zone", "eu", "__name__", "m", "a", "1", "instance", "x"), Samples: []wireSample{{v(1), 5}}}},
		},
		{
			name: "underscore names sort byte-wise around __name__",
			in:   []scrape.Sample{smp("m", 5, 1, "__a", "1", "_x", "2")},
			want: []wireSeries{{Labels: lbl("__a", "1", "__name__", "m", "_x", "2"), Samples: []wireSample{{v(1), 5}}}},
		},
		{
			name: "one series merged and time-ordered; equal timestamps keep the later sample",
			in: []scrape.Sample{
				smp("c", 3000, 3, "k", "v"), smp("g", 1000, 7), smp("c", 1000, 1, "k", "v"),
				smp("c", 2000, 2, "k", "v"), smp("c", 2000, 9, "k", "v"),
			},
			want: []wireSeries{
				{Labels: lbl("__name__", "c", "k", "v"), Samples: []wireSample{{v(1), 1000}, {v(9), 2000}, {v(3), 3000}}},
				{Labels: lbl("__name__", "g"), Samples: []wireSample{{v(7), 1000}}},
			},
		},
		{
			name: "special values keep their bits",
			in: []scrape.Sample{
				smp("s", 1, stale), smp("s", 2, math.Float64frombits(0x7ff8000000000001)),
				smp("s", 3, math.Inf(1)), smp("s", 4, math.Copysign(0, -1)), smp("s", 5, -2.5e-300),
			},
			want: []wireSeries{{Labels: lbl("__name__", "s"), Samples: []wireSample{
				{scrape.StaleNaN, 1}, {0x7ff8000000000001, 2}, {v(math.Inf(1)), 3}, {1 << 63, 4}, {v(-2.5e-300), 5},
			}}},
		},
		{
			name: "zero value, zero and negative timestamps",
			in:   []scrape.Sample{smp("z", 0, 0), smp("z", -1500, 1)},
			want: []wireSeries{{Labels: lbl("__name__", "z"), Samples: []wireSample{{v(1), -1500}, {0, 0}}}},
		},
		{
			name: "empty label values are omitted",
			in:   []scrape.Sample{smp("m", 1, 1, "a", "", "b", "x", "c", "")},
			want: []wireSeries{{Labels: lbl("__name__", "m", "b", "x"), Samples: []wireSample{{v(1), 1}}}},
		},
		{
			name: "UTF-8 names are escaped, values kept",
			in:   []scrape.Sample{smp("my.metric-name", 1, 4, "1st", "a", "http.method", "GET", "où", "café")},
			want: []wireSeries{{Labels: lbl("_1st", "a", "__name__", "my_metric_name", "http_method", "GET", "o_", "café"), Samples: []wireSample{{v(4), 1}}}},
		},
		{
			name: "names colliding after escaping: the first original name wins",
			in:   []scrape.Sample{smp("m", 1, 1, "a.b", "first", "a_b", "second")},
			want: []wireSeries{{Labels: lbl("__name__", "m", "a_b", "first"), Samples: []wireSample{{v(1), 1}}}},
		},
		{
			name: "a __name__ label never beats the metric name",
			in:   []scrape.Sample{smp("real", 1, 1, "__name__", "fake", "x", "y")},
			want: []wireSeries{{Labels: lbl("__name__", "real", "x", "y"), Samples: []wireSample{{v(1), 1}}}},
		},
		{
			name: "unsorted input labels are sorted",
			in:   []scrape.Sample{smp("m", 1, 1, "z", "1", "a", "2")},
			want: []wireSeries{{Labels: lbl("__name__", "m", "a", "2", "z", "1"), Samples: []wireSample{{v(1), 1}}}},
		},
		{
			name: "invalid UTF-8 in a value is replaced",
			in:   []scrape.Sample{smp("m", 1, 1, "a", "x\xffy")},
			want: []wireSeries{{Labels: lbl("__name__", "m", "a", "x\uFFFDy"), Samples: []wireSample{{v(1), 1}}}},
		},
		{
			name: "series that escape to the same identity merge",
			in:   []scrape.Sample{smp("a.b", 2, 2, "k", "v"), smp("a_b", 1, 1, "k", "v")},
			want: []wireSeries{{Labels: lbl("__name__", "a_b", "k", "v"), Samples: []wireSample{{v(1), 1}, {v(2), 2}}}},
		},
		{
			name:        "a sample without a name is dropped and counted",
			in:          []scrape.Sample{smp("", 1, 1, "a", "b"), smp("ok", 1, 1)},
			want:        []wireSeries{{Labels: lbl("__name__", "ok"), Samples: []wireSample{{v(1), 1}}}},
			wantDropped: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestEncoder(t, DefaultMaxSamplesPerSend, 1)
			enc, err := s.Encode(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if enc.Dropped != tc.wantDropped {
				t.Errorf("Dropped = %d, want %d", enc.Dropped, tc.wantDropped)
			}
			if len(enc.Requests) != 1 {
				t.Fatalf("got %d requests, want 1", len(enc.Requests))
			}
			req := enc.Requests[0]
			if want := len(tc.in) - tc.wantDropped; req.Samples != want {
				t.Errorf("Request.Samples = %d, want %d", req.Samples, want)
			}
			got := decodeBody(t, req.Body)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decoded\n got %+v\nwant %+v", got, tc.want)
			}
			// The encoder reuses its buffers: a second batch must not
			// disturb the first request's bytes.
			before := append([]byte(nil), req.Body...)
			if _, err := s.Encode([]scrape.Sample{smp("other", 9, 9, "x", "y")}); err != nil {
				t.Fatal(err)
			}
			if string(before) != string(req.Body) {
				t.Error("a later Encode changed an earlier request's body")
			}
		})
	}
}

func TestEncodeEmptyBatch(t *testing.T) {
	s := newTestEncoder(t, 10, 4)
	enc, err := s.Encode(nil)
	if err != nil || len(enc.Requests) != 0 || enc.Dropped != 0 {
		t.Fatalf("Encode(nil) = %+v, %v; want no requests", enc, err)
	}
}

func TestEncodeMaxSamplesPerSend(t *testing.T) {
	var in []scrape.Sample
	for i := range 10 {
		in = append(in, smp("g", 1000, float64(i), "i", string(rune('a'+i))))
	}
	s := newTestEncoder(t, 3, 1)
	enc, err := s.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	next := 0
	for _, r := range enc.Requests {
		sizes = append(sizes, r.Samples)
		for _, ts := range decodeBody(t, r.Body) {
			if want := string(rune('a' + next)); ts.Labels[1].Value != want {
				t.Fatalf("series %v out of batch order, want i=%s", ts.Labels, want)
			}
			next++
		}
	}
	if !reflect.DeepEqual(sizes, []int{3, 3, 3, 1}) {
		t.Errorf("request sizes %v, want [3 3 3 1]", sizes)
	}
}

// TestEncodeSeriesOrderAcrossRequests: when one series' samples spill over
// several requests, they stay in one shard and in time order.
func TestEncodeSeriesOrderAcrossRequests(t *testing.T) {
	in := []scrape.Sample{
		smp("c", 1000, 1, "k", "v"), smp("g", 1000, 5), smp("c", 2000, 2, "k", "v"),
		smp("c", 3000, 3, "k", "v"), smp("g", 2000, 6),
	}
	s := newTestEncoder(t, 1, 4)
	enc, err := s.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	lastTS := map[string]int64{}
	shardOf := map[string]uint32{}
	for _, r := range enc.Requests {
		for _, ts := range decodeBody(t, r.Body) {
			id := ts.Labels[0].Value
			if sh, ok := shardOf[id]; ok && sh != r.Shard {
				t.Errorf("series %s in shards %d and %d", id, sh, r.Shard)
			}
			shardOf[id] = r.Shard
			for _, smp := range ts.Samples {
				if smp.TS <= lastTS[id] {
					t.Errorf("series %s: timestamp %d after %d", id, smp.TS, lastTS[id])
				}
				lastTS[id] = smp.TS
			}
		}
	}
	if lastTS["c"] != 3000 || lastTS["g"] != 2000 {
		t.Errorf("samples missing: last timestamps %v", lastTS)
	}
}

func TestEncodeHistogramNeverSplit(t *testing.T) {
	hm := &scrape.Meta{Family: "lat", Type: scrape.TypeHistogram}
	var in []scrape.Sample
	for _, path := range []string{"/a", "/b", "/c", "/d", "/e", "/f"} {
		in = append(in, smp("up", 1000, 1, "path", path))
		in = append(in, histogram(hm, 1000, 1, "path", path)...)
	}
	for _, shards := range []int{1, 3} {
		for _, max := range []int{1, 2, 5, 6, 7, 11} {
			s := newTestEncoder(t, max, shards)
			enc, err := s.Encode(in)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, r := range enc.Requests {
				total += r.Samples
				perPath := map[string]int{}
				for _, ts := range decodeBody(t, r.Body) {
					if ts.Labels[0].Value != "up" {
						perPath[lookup(ts.Labels, "path")] += len(ts.Samples)
					}
				}
				for path, n := range perPath {
					if n != 5 {
						t.Errorf("shards=%d max=%d: request holds %d of 5 samples of histogram %s", shards, max, n, path)
					}
				}
				if r.Samples > max && r.Samples != 5 {
					t.Errorf("shards=%d max=%d: request of %d samples exceeds the limit without being one whole group", shards, max, r.Samples)
				}
			}
			if total != len(in) {
				t.Errorf("shards=%d max=%d: requests carry %d samples, want %d", shards, max, total, len(in))
			}
		}
	}
}

func lookup(ls []wireLabel, name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}
