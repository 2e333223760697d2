package hec

import (
	"bytes"
	"encoding/json"
	"flag"
	"github.com/promfwd/promfwd/sinks/jsonw"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	cases := []string{"", "plain", `q"uote`, `back\slash`, "nl\ncr\rtab\t", "\x00\x01\x1f\x7f", "häß✓", "bad\xffutf8\xc3", "\u2028sep", "</script>&"}
	for _, in := range cases {
		t.Run(strconv.Quote(in), func(t *testing.T) {
			got := jsonw.AppendString(nil, in)
			var back string
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("output %s is not JSON: %v", got, err)
			}
			want, _ := json.Marshal(in) // encoding/json also maps invalid UTF-8 to U+FFFD
			var wantBack string
			_ = json.Unmarshal(want, &wantBack)
			if back != wantBack {
				t.Fatalf("round trip %q, want %q", back, wantBack)
			}
		})
	}
}

func TestAppendFloatRoundTrips(t *testing.T) {
	cases := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-7, 1.5e-300, 123456789012345678, 1e21, 1e300, math.MaxFloat64, math.SmallestNonzeroFloat64, -3.5e-9}
	for _, f := range cases {
		t.Run(strconv.FormatFloat(f, 'g', -1, 64), func(t *testing.T) {
			b := jsonw.AppendFloat(nil, f)
			var back float64
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("%s is not a JSON number: %v", b, err)
			}
			if back != f {
				t.Fatalf("%s parses to %v, want %v", b, back, f)
			}
			want, _ := json.Marshal(f)
			if f != 0 && !bytes.Equal(b, want) {
				t.Fatalf("appendFloat = %s, encoding/json = %s", b, want)
			}
		})
	}
}

func TestAppendTime(t *testing.T) {
	cases := []struct {
		ms   int64
		want string
	}{
		{1700000000123, "1700000000.123"},
		{1700000000000, "1700000000.000"},
		{5, "0.005"},
		{1000, "1.000"},
		{-1500, "-1.500"},
	}
	for _, c := range cases {
		if got := string(appendTime(nil, c.ms)); got != c.want {
			t.Errorf("appendTime(%d) = %s, want %s", c.ms, got, c.want)
		}
	}
}

func TestDimName(t *testing.T) {
	cases := []struct {
		labels scrape.Labels
		idx    int
		want   string
	}{
		{lbls("job", "x"), 0, "job"},
		{lbls("_x", "1"), 0, "label__x"},
		{lbls("__name__", "1"), 0, "label___name__"},
		{lbls("metric_name", "1"), 0, "label_metric_name"},
		{lbls("metric_name:cpu", "1"), 0, "label_metric_name:cpu"},
		{lbls("host", "1"), 0, "label_host"},
		{lbls("index", "1"), 0, "label_index"},
		{lbls("source", "1"), 0, "label_source"},
		{lbls("sourcetype", "1"), 0, "label_sourcetype"},
		{lbls("host", "1", "label_host", "2"), 0, "label_label_host"},
		{lbls("host", "1", "label_host", "2"), 1, "label_host"},
		{lbls("host", "1", "label_host", "2", "label_label_host", "3"), 0, "label_label_label_host"},
	}
	for _, c := range cases {
		if got := dimName(c.labels, c.idx); got != c.want {
			t.Errorf("dimName(%v, %d) = %q, want %q", c.labels, c.idx, got, c.want)
		}
	}
}

func TestEncodeGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		multi bool
	}{{"single", false}, {"multi", true}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("http://127.0.0.1:1")
			cfg.MultiMetric = tc.multi
			cfg.Gzip = false
			s, _, _ := newTestSink(t, cfg)
			enc, err := s.Encode(fixtureSamples())
			if err != nil {
				t.Fatal(err)
			}
			if len(enc.Requests) != 1 {
				t.Fatalf("got %d requests, want 1", len(enc.Requests))
			}
			if enc.Dropped != 2 {
				t.Errorf("Dropped = %d, want 2 (NaN and +Inf; the stale marker is not counted)", enc.Dropped)
			}
			if want := len(fixtureSamples()) - 3; enc.Requests[0].Samples != want {
				t.Errorf("Samples = %d, want %d", enc.Requests[0].Samples, want)
			}
			got := enc.Requests[0].Body
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("body differs from %s:\n%s", path, got)
			}
		})
	}
}

func TestEncodeGzipRoundTrip(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1")
	plain, _, _ := newTestSink(t, func() Config { c := cfg; c.Gzip = false; return c }())
	zipped, _, _ := newTestSink(t, cfg)
	a, _ := plain.Encode(fixtureSamples())
	b, _ := zipped.Encode(fixtureSamples())
	zr, err := gzip.NewReader(bytes.NewReader(b.Requests[0].Body))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), a.Requests[0].Body) {
		t.Fatal("gunzipped body differs from the plain encoding")
	}
}

// TestEncodeLimits checks that requests respect max_request_bytes and
// max_events and that a histogram group never straddles two requests.
func TestEncodeLimits(t *testing.T) {
	samples := genSamples(3000)
	for _, tc := range []struct {
		name      string
		multi     bool
		maxBytes  int
		maxEvents int
	}{
		{"single/bytes", false, 4096, 0},
		{"multi/bytes", true, 4096, 0},
		{"single/events", false, 1 << 20, 25},
		{"multi/events", true, 1 << 20, 25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("http://127.0.0.1:1")
			cfg.MultiMetric, cfg.Gzip, cfg.MaxRequestBytes, cfg.MaxEvents = tc.multi, false, sinks.ByteSize(tc.maxBytes), tc.maxEvents
			s, _, _ := newTestSink(t, cfg)
			enc, err := s.Encode(samples)
			if err != nil {
				t.Fatal(err)
			}
			if len(enc.Requests) < 2 {
				t.Fatalf("only %d requests; the limit was not exercised", len(enc.Requests))
			}
			seen := map[string]int{} // histogram series (name+container) -> request index
			total := 0
			for i, r := range enc.Requests {
				if len(r.Body) > tc.maxBytes {
					t.Errorf("request %d has %d bytes > %d", i, len(r.Body), tc.maxBytes)
				}
				lines := bytes.Count(r.Body, []byte("\n"))
				if tc.maxEvents > 0 && lines > tc.maxEvents {
					t.Errorf("request %d has %d events > %d", i, lines, tc.maxEvents)
				}
				total += r.Samples
				for _, line := range bytes.Split(bytes.TrimSpace(r.Body), []byte("\n")) {
					var ev struct {
						Fields map[string]any `json:"fields"`
					}
					if err := json.Unmarshal(line, &ev); err != nil {
						t.Fatalf("request %d: %v", i, err)
					}
					c, _ := ev.Fields["container"].(string)
					for k := range ev.Fields {
						name := k
						if k == "metric_name" {
							name = ev.Fields[k].(string)
						}
						fam := histFamily(name)
						if fam == "" {
							continue
						}
						key := fam + "/" + c
						if prev, ok := seen[key]; ok && prev != i {
							t.Fatalf("histogram series %s split across requests %d and %d", key, prev, i)
						}
						seen[key] = i
					}
				}
			}
			if total != len(samples) {
				t.Errorf("requests carry %d samples, want %d", total, len(samples))
			}
		})
	}
}

// histFamily returns the histogram family of a (possibly metric_name:-
// prefixed) sample name from genSamples, or "".
func histFamily(name string) string {
	if len(name) > len("metric_name:") && name[:len("metric_name:")] == "metric_name:" {
		name = name[len("metric_name:"):]
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if len(name) > len(suf) && name[len(name)-len(suf):] == suf {
			return name[:len(name)-len(suf)]
		}
	}
	return ""
}

func TestEncodeMultiMergesSharedDimensions(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1")
	cfg.MultiMetric, cfg.Gzip = true, false
	s, _, _ := newTestSink(t, cfg)
	job := lbls("job", "a")
	samples := []scrape.Sample{
		{Name: "a", Labels: scrape.SetOf(job), Value: 1, TimestampMs: testTS},
		{Name: "b", Labels: scrape.SetOf(lbls("job", "b")), Value: 2, TimestampMs: testTS},
		{Name: "c", Labels: scrape.SetOf(job), Value: 3, TimestampMs: testTS},
		{Name: "a", Labels: scrape.SetOf(job), Value: 4, TimestampMs: testTS},     // same series again: must not overwrite
		{Name: "d", Labels: scrape.SetOf(job), Value: 5, TimestampMs: testTS + 1}, // other time: own event
	}
	enc, err := s.Encode(samples)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":1700000000.123,"event":"metric","host":"promfwd-test","source":"promfwd","sourcetype":"prometheus","index":"metrics","fields":{"metric_name:a":1,"metric_name:c":3,"job":"a"}}
{"time":1700000000.123,"event":"metric","host":"promfwd-test","source":"promfwd","sourcetype":"prometheus","index":"metrics","fields":{"metric_name:b":2,"job":"b"}}
{"time":1700000000.123,"event":"metric","host":"promfwd-test","source":"promfwd","sourcetype":"prometheus","index":"metrics","fields":{"metric_name:a":4,"job":"a"}}
{"time":1700000000.124,"event":"metric","host":"promfwd-test","source":"promfwd","sourcetype":"prometheus","index":"metrics","fields":{"metric_name:d":5,"job":"a"}}
`
	if got := string(enc.Requests[0].Body); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
