package scrape

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// exRender renders every sample that has an exemplar as
// "name{labels} -> {exlabels} value@ts", ts "-" when the exemplar has none.
func exRender(samples []Sample) []string {
	var out []string
	for i := range samples {
		e := samples[i].Exemplar()
		if e == nil {
			continue
		}
		ts := "-"
		if e.HasTimestamp {
			ts = fmt.Sprint(e.TimestampMs)
		}
		out = append(out, fmt.Sprintf("%s%s -> %s %g@%s", samples[i].Name, samples[i].Labels, e.Labels, e.Value, ts))
	}
	return out
}

func TestSampleSizeUnchangedByExemplars(t *testing.T) {
	// ExemplarRef lives in the padding after Kind and ExplicitTS: a
	// Sample must stay 80 bytes (10 words) on 64-bit platforms.
	if unsafe.Sizeof(uintptr(0)) == 8 && unsafe.Sizeof(Sample{}) != 80 {
		t.Fatalf("Sample is %d bytes, want 80", unsafe.Sizeof(Sample{}))
	}
}

func TestParseOpenMetricsExemplars(t *testing.T) {
	body := `# TYPE rpc_duration_seconds histogram
rpc_duration_seconds_bucket{le="0.1"} 3
rpc_duration_seconds_bucket{le="1"} 5 # {trace_id="b1",span_id="s"} 0.5 1700000000.250
rpc_duration_seconds_bucket{le="+Inf"} 6 # {trace_id="b2"} 7
rpc_duration_seconds_sum 9.5
rpc_duration_seconds_count 6
# TYPE requests counter
requests_total{code="200"} 10 1700000001.000 # {trace_id="c\"1\\x",empty=""} 1 1700000000.5
requests_total{code="500"} 1 # {} 1
requests_total{code="503"} 2 # {a="1",a="2"} 1
requests_total{code="504"} 3 # {trace_id="` + strings.Repeat("x", 130) + `"} 1
requests_total{code="505"} 4 # {trace_id="big"} 1 1e300
# EOF
`
	want := []string{
		`rpc_duration_seconds_bucket{le="1.0"} -> {span_id="s",trace_id="b1"} 0.5@1700000000250`,
		`rpc_duration_seconds_bucket{le="+Inf"} -> {trace_id="b2"} 7@-`,
		`requests_total{code="200"} -> {trace_id="c"1\x"} 1@1700000000500`,
		`requests_total{code="500"} -> {} 1@-`,
	}
	p := NewParser()
	samples, err := p.Parse(FormatOpenMetrics, []byte(body), ParseOptions{NowMs: 42, Exemplars: true})
	if err != nil {
		t.Fatal(err)
	}
	ptCheck(t, samples)
	ptDiff(t, exRender(samples), want)
	// Refused exemplars (repeated name, over 128 runes, timestamp out of
	// range) cost only the exemplar: every sample is there.
	if len(samples) != 10 {
		t.Fatalf("got %d samples, want 10", len(samples))
	}
	// The histogram still travels as one group: its buckets share the Meta
	// that holds the exemplars, the first bucket's included.
	if end := GroupEnd(samples, 0); end != 5 {
		t.Fatalf("GroupEnd(histogram) = %d, want 5", end)
	}
	// An exemplar without a timestamp is stored under its sample's.
	s := &samples[2]
	if got := s.ExemplarTimestamp(s.Exemplar()); got != 42 {
		t.Fatalf("exemplar timestamp = %d, want the scrape time 42", got)
	}

	// The next scrape without exemplars reuses the cached Meta, which the
	// exemplars never touched, and leaves the earlier samples intact.
	again, err := p.Parse(FormatOpenMetrics, []byte(body), ParseOptions{NowMs: 43})
	if err != nil {
		t.Fatal(err)
	}
	if got := exRender(again); got != nil {
		t.Fatalf("exemplars kept with Exemplars off: %q", got)
	}
	for i := range again {
		if len(again[i].Meta.Exemplars) != 0 {
			t.Fatalf("sample %d: Meta has exemplars with Exemplars off", i)
		}
	}
	ptDiff(t, exRender(samples), want)
}

func TestParseExemplarsOffIgnoresThem(t *testing.T) {
	body := "# TYPE c counter\nc_total 1 # {trace_id=\"x\"} 1 1\n# EOF\n"
	samples, err := NewParser().Parse(FormatOpenMetrics, []byte(body), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 1 || samples[0].ExemplarRef != 0 || samples[0].Meta.Exemplars != nil {
		t.Fatalf("exemplar kept with Exemplars off: %+v", samples)
	}
}

// exFamilies is a counter and a classic histogram with exemplars, as a
// client library exposes them.
func exFamilies() []*dto.MetricFamily {
	ex := func(trace string, v float64, ts *timestamppb.Timestamp) *dto.Exemplar {
		return &dto.Exemplar{Label: []*dto.LabelPair{{Name: proto.String("trace_id"), Value: proto.String(trace)}},
			Value: proto.Float64(v), Timestamp: ts}
	}
	return []*dto.MetricFamily{
		{
			Name: proto.String("jobs_total"), Type: dto.MetricType_COUNTER.Enum(),
			Metric: []*dto.Metric{
				{Label: []*dto.LabelPair{{Name: proto.String("q"), Value: proto.String("a")}},
					Counter: &dto.Counter{Value: proto.Float64(4), Exemplar: ex("t1", 1, &timestamppb.Timestamp{Seconds: 1700000000, Nanos: 123_000_000})}},
				{Label: []*dto.LabelPair{{Name: proto.String("q"), Value: proto.String("b")}},
					Counter: &dto.Counter{Value: proto.Float64(2)}},
			},
		},
		{
			Name: proto.String("lat_seconds"), Type: dto.MetricType_HISTOGRAM.Enum(),
			Metric: []*dto.Metric{{Histogram: &dto.Histogram{
				SampleCount: proto.Uint64(3), SampleSum: proto.Float64(1.5),
				Bucket: []*dto.Bucket{
					{UpperBound: proto.Float64(0.1), CumulativeCount: proto.Uint64(1)},
					{UpperBound: proto.Float64(1), CumulativeCount: proto.Uint64(3), Exemplar: ex("t2", 0.7, &timestamppb.Timestamp{Seconds: 1700000001})},
				},
			}}},
		},
	}
}

func TestParseProtobufExemplars(t *testing.T) {
	want := []string{
		`jobs_total{q="a"} -> {trace_id="t1"} 1@1700000000123`,
		`lat_seconds_bucket{le="1.0"} -> {trace_id="t2"} 0.7@1700000001000`,
	}
	for _, f := range []Format{FormatProtobuf, FormatOpenMetrics} {
		t.Run(f.String(), func(t *testing.T) {
			body := ptEncode(t, exFamilies(), f)
			samples, err := NewParser().Parse(f, body, ParseOptions{NowMs: 42, Exemplars: true})
			if err != nil {
				t.Fatal(err)
			}
			ptCheck(t, samples)
			ptDiff(t, exRender(samples), want)
			off, err := NewParser().Parse(f, body, ParseOptions{NowMs: 42})
			if err != nil {
				t.Fatal(err)
			}
			if got := exRender(off); got != nil {
				t.Fatalf("exemplars kept with Exemplars off: %q", got)
			}
		})
	}
}

// BenchmarkParseOpenMetricsExemplars is BenchmarkParseOpenMetrics with an
// exemplar on every counter and histogram bucket, kept: the cost of
// send_exemplars: true (with it off they are skipped as before).
func BenchmarkParseOpenMetricsExemplars(b *testing.B) {
	fams := ptGenFamilies(ptBenchSeries, 1)
	ex := func(i int) *dto.Exemplar {
		return &dto.Exemplar{Label: []*dto.LabelPair{{Name: proto.String("trace_id"), Value: proto.String(fmt.Sprintf("%016x", i))}},
			Value: proto.Float64(0.5), Timestamp: &timestamppb.Timestamp{Seconds: 1_700_000_000}}
	}
	n := 0
	for _, mf := range fams {
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil {
				c.Exemplar, n = ex(n), n+1
			}
			for _, bk := range m.GetHistogram().GetBucket() {
				bk.Exemplar, n = ex(n), n+1
			}
		}
	}
	body := ptEncode(b, fams, FormatOpenMetrics)
	p := NewParser()
	opt := ParseOptions{NowMs: 1_700_000_000_000, Exemplars: true}
	first, err := p.Parse(FormatOpenMetrics, body, opt)
	if err != nil {
		b.Fatal(err)
	}
	if len(exRender(first)) == 0 {
		b.Fatal("no exemplars kept")
	}
	ptLoop(b, len(first), body, func() error {
		_, err := p.Parse(FormatOpenMetrics, body, opt)
		return err
	})
	b.ReportMetric(float64(n), "exemplars/op")
}
