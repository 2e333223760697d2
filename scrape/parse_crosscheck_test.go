package scrape

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

// ptCrossFamilies extends the generated exposition with the families the
// generator lacks: a summary, an untyped one and a UTF-8 named gauge.
func ptCrossFamilies() []*dto.MetricFamily {
	fams := ptGenFamilies(2000, 3)
	lp := func(n, v string) *dto.LabelPair { return &dto.LabelPair{Name: proto.String(n), Value: proto.String(v)} }
	return append(fams, &dto.MetricFamily{
		Name: proto.String("rpc_seconds"), Help: proto.String("RPC latency."), Type: dto.MetricType_SUMMARY.Enum(),
		Metric: []*dto.Metric{{Label: []*dto.LabelPair{lp("svc", "a")}, Summary: &dto.Summary{
			SampleCount: proto.Uint64(10), SampleSum: proto.Float64(1.25),
			Quantile: []*dto.Quantile{{Quantile: proto.Float64(0.5), Value: proto.Float64(0.1)}, {Quantile: proto.Float64(0.99), Value: proto.Float64(math.NaN())}},
		}}},
	}, &dto.MetricFamily{
		Name: proto.String("legacy_untyped"), Type: dto.MetricType_UNTYPED.Enum(),
		Metric: []*dto.Metric{{Label: []*dto.LabelPair{lp("k", "v")}, Untyped: &dto.Untyped{Value: proto.Float64(-2)}, TimestampMs: proto.Int64(1_600_000_000_000)}},
	}, &dto.MetricFamily{
		Name: proto.String("utf8.gauge"), Type: dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{Label: []*dto.LabelPair{lp("label.with.dots", "ü")}, Gauge: &dto.Gauge{Value: proto.Float64(1)}}},
	})
}

// ptFlattenDTO turns expfmt's families into the comparable form
// "name{labels} value [@ts] type", applying the parser's documented
// normalisations (empty label values dropped, le/quantile in OpenMetrics form).
func ptFlattenDTO(fams map[string]*dto.MetricFamily) []string {
	var out []string
	for _, mf := range fams {
		typ := strings.ToLower(mf.GetType().String())
		if typ == "untyped" {
			typ = "unknown"
		}
		for _, m := range mf.GetMetric() {
			ts := ""
			if m.TimestampMs != nil {
				ts = " @" + strconv.FormatInt(m.GetTimestampMs(), 10)
			}
			line := func(name string, v float64, extra ...*dto.LabelPair) {
				var ls Labels
				for _, l := range append(slices.Clone(m.GetLabel()), extra...) {
					if l.GetValue() != "" {
						ls = append(ls, Label{l.GetName(), l.GetValue()})
					}
				}
				slices.SortFunc(ls, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
				out = append(out, fmt.Sprintf("%s%s %s%s %s", name, ls, strconv.FormatFloat(v, 'g', -1, 64), ts, typ))
			}
			bound := func(n string, f float64) *dto.LabelPair {
				return &dto.LabelPair{Name: proto.String(n), Value: proto.String(string(appendOMFloat(nil, f)))}
			}
			name := mf.GetName()
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				line(name, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				line(name, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				line(name, m.GetUntyped().GetValue())
			case dto.MetricType_SUMMARY:
				for _, q := range m.GetSummary().GetQuantile() {
					line(name, q.GetValue(), bound("quantile", q.GetQuantile()))
				}
				line(name+"_sum", m.GetSummary().GetSampleSum())
				line(name+"_count", float64(m.GetSummary().GetSampleCount()))
			case dto.MetricType_HISTOGRAM:
				for _, b := range m.GetHistogram().GetBucket() {
					line(name+"_bucket", float64(b.GetCumulativeCount()), bound("le", b.GetUpperBound()))
				}
				line(name+"_sum", m.GetHistogram().GetSampleSum())
				line(name+"_count", float64(m.GetHistogram().GetSampleCount()))
			}
		}
	}
	slices.Sort(out)
	return out
}

func ptFlattenSamples(samples []Sample) []string {
	out := make([]string, 0, len(samples))
	for _, s := range samples {
		ts := ""
		if s.ExplicitTS {
			ts = " @" + strconv.FormatInt(s.TimestampMs, 10)
		}
		out = append(out, fmt.Sprintf("%s%s %s%s %s", s.Name, s.Labels, strconv.FormatFloat(s.Value, 'g', -1, 64), ts, s.Meta.Type))
	}
	slices.Sort(out)
	return out
}

// TestParseTextMatchesExpfmt keeps the hand-written text parser honest: on a
// generated exposition it must see the same names, labels, values,
// timestamps and types as prometheus/common's reference TextParser.
func TestParseTextMatchesExpfmt(t *testing.T) {
	body := ptEncode(t, ptCrossFamilies(), FormatText)
	tp := expfmt.NewTextParser(model.UTF8Validation)
	ref, err := tp.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("expfmt: %v", err)
	}
	samples, err := NewParser().Parse(FormatText, body, ParseOptions{NowMs: ptNow})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	ptCheck(t, samples)
	got, want := ptFlattenSamples(samples), ptFlattenDTO(ref)
	if len(got) != len(want) {
		t.Fatalf("got %d samples, expfmt %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("first difference at %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

// TestParseFormatsAgree parses one set of families encoded as text,
// OpenMetrics and protobuf: the samples must be identical, so a target that
// switches format keeps its series.
func TestParseFormatsAgree(t *testing.T) {
	fams := ptCrossFamilies()
	fams = fams[:len(fams)-1] // expfmt's OpenMetrics encoder rejects UTF-8 names without escaping
	render := func(f Format) []string {
		samples, err := NewParser().Parse(f, ptEncode(t, fams, f), ParseOptions{NowMs: ptNow, TargetLabels: Labels{{"job", "x"}}})
		if err != nil {
			t.Fatalf("Parse %s: %v", f, err)
		}
		ptCheck(t, samples)
		out := make([]string, len(samples))
		for i, s := range samples {
			out[i] = fmt.Sprintf("%s %s %v %d %v %x", ptRender(Sample{Name: s.Name, Labels: s.Labels, Value: s.Value, TimestampMs: s.TimestampMs, ExplicitTS: s.ExplicitTS, Kind: s.Kind}), s.Meta.Type, s.Meta.Help != "", s.TimestampMs, s.ExplicitTS, s.Hash)
		}
		return out
	}
	text := render(FormatText)
	for _, f := range []Format{FormatOpenMetrics, FormatProtobuf} {
		got := render(f)
		if len(got) != len(text) {
			t.Fatalf("%s: %d samples, text %d", f, len(got), len(text))
		}
		for i := range got {
			if got[i] != text[i] {
				t.Fatalf("%s differs from text at %d:\n got %s\ntext %s", f, i, got[i], text[i])
			}
		}
	}
}
