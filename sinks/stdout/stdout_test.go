package stdout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/promfwd/promfwd/sinks/jsonw"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

func testSamples() []scrape.Sample {
	hist := &scrape.Meta{Family: "req_seconds", Type: scrape.TypeHistogram}
	ts := int64(1700000000123)
	ls := func(kv ...string) scrape.Labels {
		var l scrape.Labels
		for i := 0; i < len(kv); i += 2 {
			l = append(l, scrape.Label{Name: kv[i], Value: kv[i+1]})
		}
		return l
	}
	return []scrape.Sample{
		{Name: "x_total", Labels: scrape.SetOf(ls("a", "b")), Value: 1.5, TimestampMs: ts, Kind: scrape.KindCounter},
		{Name: "up", Value: 1, TimestampMs: ts, Kind: scrape.KindGauge},
		{Name: "weird", Labels: scrape.SetOf(ls("path", `C:\dir "q"`, "text", "line1\nline2\ttab\x01\x7f", "utf", "héllo \u2028 ✓", "bad", "a\xffb")),
			Value: -0.000001, TimestampMs: ts, Kind: scrape.KindUntyped},
		{Name: "big", Value: 1e21, TimestampMs: ts, Kind: scrape.KindGauge},
		{Name: "small", Value: 1.25e-7, TimestampMs: ts, Kind: scrape.KindGauge},
		{Name: "nan", Value: math.NaN(), TimestampMs: ts, Kind: scrape.KindGauge},
		{Name: "stale", Value: math.Float64frombits(scrape.StaleNaN), TimestampMs: ts, Kind: scrape.KindGauge},
		{Name: "pinf", Value: math.Inf(1), TimestampMs: ts, Kind: scrape.KindGauge},
		{Name: "ninf", Value: math.Inf(-1), TimestampMs: ts, Kind: scrape.KindGauge},
		{Name: "req_seconds_bucket", Labels: scrape.SetOf(ls("le", "0.5")), Value: 3, TimestampMs: ts, Kind: scrape.KindHistogramBucket, Meta: hist},
		{Name: "req_seconds_bucket", Labels: scrape.SetOf(ls("le", "+Inf")), Value: 4, TimestampMs: ts, Kind: scrape.KindHistogramBucket, Meta: hist},
		{Name: "req_seconds_sum", Value: 1.75, TimestampMs: ts, Kind: scrape.KindHistogramSum, Meta: hist},
		{Name: "req_seconds_count", Value: 4, TimestampMs: ts, Kind: scrape.KindHistogramCount, Meta: hist},
	}
}

func newSink(t testing.TB, cfg Config) *Sink {
	t.Helper()
	s, err := New(cfg, sinks.Settings{Name: "stdout"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEncodeGolden(t *testing.T) {
	var out bytes.Buffer
	s := newSink(t, Config{Writer: &out})
	enc, err := s.Encode(testSamples())
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.Requests) != 1 || enc.Requests[0].Samples != 12 || enc.Dropped != 0 {
		t.Fatalf("Encode = %d requests, %+v", len(enc.Requests), enc)
	}
	if err := s.Send(context.Background(), enc.Requests[0]); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "samples.jsonl")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("output differs from %s (run with -update after checking):\n%s", golden, out.Bytes())
	}
}

type line struct {
	TimeMs int64             `json:"time_ms"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
	Value  any               `json:"value"`
	Kind   string            `json:"kind"`
}

func TestLinesRoundTripThroughEncodingJSON(t *testing.T) {
	samples := testSamples()
	s := newSink(t, Config{Writer: io.Discard})
	enc, err := s.Encode(samples)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(enc.Requests[0].Body), "\n"), "\n")
	var kept []scrape.Sample
	for _, smp := range samples {
		if !scrape.IsStaleNaN(smp.Value) {
			kept = append(kept, smp)
		}
	}
	if len(lines) != len(kept) {
		t.Fatalf("%d lines for %d samples", len(lines), len(kept))
	}
	for i, raw := range lines {
		var l line
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("line %d %q: %v", i, raw, err)
		}
		want := kept[i]
		if l.TimeMs != want.TimestampMs || l.Name != want.Name || l.Kind != want.Kind.String() {
			t.Errorf("line %d = %+v, want %+v", i, l, want)
		}
		if len(l.Labels) != want.Labels.Len() {
			t.Errorf("line %d labels %v, want %v", i, l.Labels, want.Labels)
		}
		for _, lb := range want.Labels.All() {
			if got := l.Labels[lb.Name]; got != strings.ToValidUTF8(lb.Value, "\uFFFD") {
				t.Errorf("line %d label %s = %q, want %q", i, lb.Name, got, lb.Value)
			}
		}
		switch v := l.Value.(type) {
		case float64:
			if v != want.Value || math.Signbit(v) != math.Signbit(want.Value) {
				t.Errorf("line %d value %v, want %v", i, v, want.Value)
			}
		case string:
			wantStr := map[bool]string{true: "NaN"}[math.IsNaN(want.Value)]
			if math.IsInf(want.Value, 1) {
				wantStr = "+Inf"
			} else if math.IsInf(want.Value, -1) {
				wantStr = "-Inf"
			}
			if v != wantStr {
				t.Errorf("line %d value %q, want %q", i, v, wantStr)
			}
		default:
			t.Errorf("line %d value of type %T", i, v)
		}
	}
}

func TestAppendStringEscaping(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`q"uote`, `"q\"uote"`},
		{`back\slash`, `"back\\slash"`},
		{"nl\ncr\rtab\t", `"nl\ncr\rtab\t"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"del\x7f", "\"del\x7f\""},
		{"<html>&", `"<html>&"`},
		{"é✓😀", `"é✓😀"`},
		{"a\xffb", `"a\ufffdb"`},
		{"\xc3", `"\ufffd"`},                     // truncated sequence
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`}, // surrogate half: invalid in UTF-8
		{"ls\u2028ps\u2029", `"ls\u2028ps\u2029"`},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.in), func(t *testing.T) {
			got := string(jsonw.AppendString(nil, tc.in))
			if got != tc.want {
				t.Fatalf("appendString = %s, want %s", got, tc.want)
			}
			var back string
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Fatalf("not valid JSON: %v", err)
			}
			std, _ := json.Marshal(tc.in) // encoding/json agrees on the decoded value
			var stdBack string
			_ = json.Unmarshal(std, &stdBack)
			if back != stdBack {
				t.Fatalf("decodes to %q, encoding/json round-trips to %q", back, stdBack)
			}
		})
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00", "\xff\xfe", "\u2028", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := jsonw.AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, got, err)
		}
		std, _ := json.Marshal(s)
		var want string
		_ = json.Unmarshal(std, &want)
		if back != want {
			t.Fatalf("%q: decoded %q, encoding/json gives %q", s, back, want)
		}
	})
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 1.5, 0.1, 1e-6, 9.99e-7, 1e-7, 123456789, 1e20, 1e21, -1e21,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 1.0 / 3, 2.5e-300} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendFloat(nil, v); string(got) != string(want) {
			t.Errorf("appendFloat(%v) = %s, encoding/json = %s", v, got, want)
		}
	}
}

func TestEncodeSplitsBetweenGroups(t *testing.T) {
	meta := &scrape.Meta{Family: "h", Type: scrape.TypeHistogram}
	var samples []scrape.Sample
	for g := range 20 {
		id := scrape.Label{Name: "g", Value: fmt.Sprint(g)}
		for _, le := range []string{"1", "+Inf"} {
			samples = append(samples, scrape.Sample{Name: "h_bucket", Labels: scrape.SetOf(scrape.Labels{id, {Name: "le", Value: le}}),
				Kind: scrape.KindHistogramBucket, Meta: meta})
		}
		samples = append(samples, scrape.Sample{Name: "h_count", Labels: scrape.SetOf(scrape.Labels{id}), Kind: scrape.KindHistogramCount, Meta: meta})
		samples = append(samples, scrape.Sample{Name: "g", Kind: scrape.KindGauge, Value: float64(g)})
	}
	whole, err := newSink(t, Config{}).Encode(samples)
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{100, 300, 1000} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			enc, err := newSink(t, Config{MaxRequestBytes: sinks.ByteSize(limit)}).Encode(samples)
			if err != nil {
				t.Fatal(err)
			}
			var joined []byte
			total := 0
			for _, r := range enc.Requests {
				lines := strings.Count(string(r.Body), "\n")
				if lines != r.Samples {
					t.Fatalf("request has %d lines but Samples=%d", lines, r.Samples)
				}
				if len(r.Body) > limit && !strings.HasPrefix(string(r.Body), `{"time_ms":0,"name":"h_bucket"`) {
					t.Fatalf("request of %d bytes over limit %d", len(r.Body), limit)
				}
				if first := strings.SplitN(string(r.Body), "\n", 2)[0]; strings.Contains(first, `"le":"+Inf"`) || strings.Contains(first, "h_count") {
					t.Fatalf("request starts inside a histogram group: %s", first)
				}
				joined = append(joined, r.Body...)
				total += r.Samples
			}
			if len(enc.Requests) < 2 || total != len(samples) || !bytes.Equal(joined, whole.Requests[0].Body) {
				t.Fatalf("%d requests, %d samples; concatenation equal to the unsplit body: %v",
					len(enc.Requests), total, bytes.Equal(joined, whole.Requests[0].Body))
			}
		})
	}
}

// exclusiveWriter fails the test if two Writes overlap.
type exclusiveWriter struct {
	t      *testing.T
	active atomic.Int32
	mu     sync.Mutex
	buf    bytes.Buffer
}

func (w *exclusiveWriter) Write(p []byte) (int, error) {
	if w.active.Add(1) != 1 {
		w.t.Error("concurrent Write")
	}
	defer w.active.Add(-1)
	for _, c := range p { // byte by byte widens any overlap window
		w.mu.Lock()
		w.buf.WriteByte(c)
		w.mu.Unlock()
	}
	return len(p), nil
}

func TestSendSerialisesWrites(t *testing.T) {
	w := &exclusiveWriter{t: t}
	s := newSink(t, Config{Writer: w})
	enc, err := s.Encode(testSamples())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := s.Send(context.Background(), enc.Requests[0]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if want := bytes.Repeat(enc.Requests[0].Body, 8); !bytes.Equal(w.buf.Bytes(), want) {
		t.Fatal("writes interleaved")
	}
}

type fnWriter func([]byte) (int, error)

func (f fnWriter) Write(p []byte) (int, error) { return f(p) }

func TestSendErrors(t *testing.T) {
	closed, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		w         io.Writer
		wantIs    error
		permanent bool
	}{
		{"write error", context.Background(), fnWriter(func([]byte) (int, error) { return 0, io.ErrClosedPipe }), io.ErrClosedPipe, false},
		{"short write", context.Background(), fnWriter(func(p []byte) (int, error) { return len(p) - 1, nil }), io.ErrShortWrite, false},
		{"cancelled", cancelled, io.Discard, context.Canceled, false},
		{"closed file", context.Background(), closed, os.ErrClosed, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := newSink(t, Config{Writer: tc.w}).Send(tc.ctx, sinks.Request{Body: []byte("x\n"), Samples: 1})
			if !errors.Is(err, tc.wantIs) || sinks.IsPermanent(err) != tc.permanent {
				t.Fatalf("Send = %v (permanent %v), want %v (permanent %v)", err, sinks.IsPermanent(err), tc.wantIs, tc.permanent)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg     Config
		wantErr string
	}{
		{DefaultConfig(), ""},
		{Config{}, ""},
		{Config{MaxRequestBytes: 64 << 20}, ""},
		{Config{MaxRequestBytes: -1}, "stdout: max_request_bytes -1"},
		{Config{MaxRequestBytes: 64<<20 + 1}, "stdout: max_request_bytes 67108865"},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.wantErr)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.cfg, err, tc.wantErr)
		}
		if _, nerr := New(tc.cfg, sinks.Settings{}); (nerr == nil) != (err == nil) {
			t.Errorf("New and Validate disagree: %v vs %v", nerr, err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	base := testSamples()
	samples := make([]scrape.Sample, 10_000)
	for i := range samples {
		samples[i] = base[i%len(base)]
	}
	s := newSink(b, Config{Writer: io.Discard})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Encode(samples); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(samples)), "ns/sample")
}
