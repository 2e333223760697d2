package scrape

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// ptUpdate rewrites golden files (and the generated .pb input) instead of
// comparing. It is the scrape package's only -update flag.
var ptUpdate = flag.Bool("update", false, "rewrite scrape/testdata golden files")

// ptGoldenProtoFamilies is the source of testdata/parse/protobuf_mixed.pb.
func ptGoldenProtoFamilies() []*dto.MetricFamily {
	lp := func(n, v string) *dto.LabelPair { return &dto.LabelPair{Name: proto.String(n), Value: proto.String(v)} }
	return []*dto.MetricFamily{{
		Name: proto.String("http_requests_total"), Help: proto.String("Requests served."), Type: dto.MetricType_COUNTER.Enum(),
		Metric: []*dto.Metric{
			{Label: []*dto.LabelPair{lp("path", "/a\"b"), lp("code", "200")}, Counter: &dto.Counter{Value: proto.Float64(1027)}},
			{Label: []*dto.LabelPair{lp("code", "500"), lp("job", "exposed-job")}, Counter: &dto.Counter{Value: proto.Float64(3)}, TimestampMs: proto.Int64(1_700_000_000_123)},
		},
	}, {
		Name: proto.String("temperature_celsius"), Type: dto.MetricType_GAUGE.Enum(), Unit: proto.String("celsius"),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(math.NaN())}}},
	}, {
		Name: proto.String("rpc_latency_seconds"), Type: dto.MetricType_SUMMARY.Enum(),
		Metric: []*dto.Metric{{Summary: &dto.Summary{
			SampleCount: proto.Uint64(2000), SampleSum: proto.Float64(17.5),
			Quantile: []*dto.Quantile{{Quantile: proto.Float64(0.5), Value: proto.Float64(0.002)}, {Quantile: proto.Float64(1), Value: proto.Float64(0.02)}},
		}}},
	}, {
		Name: proto.String("request_duration_seconds"), Help: proto.String("Latency."), Type: dto.MetricType_HISTOGRAM.Enum(),
		Metric: []*dto.Metric{{Label: []*dto.LabelPair{lp("handler", "/")}, Histogram: &dto.Histogram{
			SampleCount: proto.Uint64(9), SampleSum: proto.Float64(4.5),
			Bucket: []*dto.Bucket{{UpperBound: proto.Float64(0.1), CumulativeCount: proto.Uint64(2)}, {UpperBound: proto.Float64(1), CumulativeCount: proto.Uint64(7)}},
		}}},
	}, {
		Name: proto.String("native_only_seconds"), Type: dto.MetricType_HISTOGRAM.Enum(),
		Metric: []*dto.Metric{{Histogram: &dto.Histogram{
			SampleCount: proto.Uint64(5), SampleSum: proto.Float64(2.5), Schema: proto.Int32(3), ZeroThreshold: proto.Float64(1e-128),
			PositiveSpan: []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(2)}}, PositiveDelta: []int64{2, 1},
		}}},
	}, {
		Name: proto.String("queue_size"), Type: dto.MetricType_GAUGE_HISTOGRAM.Enum(),
		Metric: []*dto.Metric{{Histogram: &dto.Histogram{
			SampleCountFloat: proto.Float64(5), SampleSum: proto.Float64(31),
			Bucket: []*dto.Bucket{{UpperBound: proto.Float64(10), CumulativeCountFloat: proto.Float64(3)}, {UpperBound: proto.Float64(math.Inf(1)), CumulativeCountFloat: proto.Float64(5)}},
		}}},
	}, {
		Name: proto.String("mystery"), Type: dto.MetricType_UNTYPED.Enum(),
		Metric: []*dto.Metric{{Untyped: &dto.Untyped{Value: proto.Float64(42)}}},
	}}
}

func ptWriteGoldenProto(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, ptEncode(t, ptGoldenProtoFamilies(), FormatProtobuf), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParseGolden(t *testing.T) {
	cases := []struct {
		input  string
		format Format
	}{
		{"text_basic.prom", FormatText},
		{"openmetrics_full.om", FormatOpenMetrics},
		{"protobuf_mixed.pb", FormatProtobuf},
	}
	for _, c := range cases {
		t.Run(c.input, func(t *testing.T) {
			in := filepath.Join("testdata", "parse", c.input)
			if *ptUpdate && c.format == FormatProtobuf {
				ptWriteGoldenProto(t, in)
			}
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			samples, err := NewParser().Parse(c.format, body, ParseOptions{NowMs: ptNow, TargetLabels: Labels{{Name: "job", Value: "golden"}}})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			ptCheck(t, samples)
			got := []byte(strings.Join(ptRenderAll(samples), "\n") + "\n")
			golden := strings.TrimSuffix(in, filepath.Ext(in)) + ".golden"
			if *ptUpdate {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (run with -update to accept):\n%s", c.input, golden, got)
			}
		})
	}
}
