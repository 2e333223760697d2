package scrape

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// TestParseAsPrometheusIngests covers issue 20's "scrapes that fail where
// Prometheus ingests": each exposition parses, and yields what Prometheus'
// own scrape (model/textparse) stores.
func TestParseAsPrometheusIngests(t *testing.T) {
	om := func(s string) string { return s + "# EOF\n" }
	cases := []struct {
		name    string
		f       Format
		body    string
		want    []string
		dropped Dropped
	}{
		// Prometheus' metadata cache keeps the last HELP; expfmt errors.
		{"duplicate HELP text", FormatText, "# HELP a first\n# HELP a second\n# TYPE a gauge\na 1\n", []string{
			`a{job="j"} 1 @1700000100000 gauge a/gauge help="second"`}, Dropped{}},
		{"duplicate HELP openmetrics", FormatOpenMetrics, om("# HELP a first\n# HELP a second\n# TYPE a gauge\na 1\n"), []string{
			`a{job="j"} 1 @1700000100000 gauge a/gauge help="second"`}, Dropped{}},
		// The lexers take \\. (any escaped character); unreplace resolves
		// only \\ \" \n, the rest stays as written.
		{"unknown escapes text", FormatText, `a{x="a\qb",p="C:\Windows"} 1` + "\n", []string{
			`a{job="j",p="C:\\Windows",x="a\\qb"} 1 @1700000100000 untyped a/unknown`}, Dropped{}},
		{"unknown escapes openmetrics", FormatOpenMetrics, om(`a{x="a\qb",p="C:\Windows"} 1` + "\n"), []string{
			`a{job="j",p="C:\\Windows",x="a\\qb"} 1 @1700000100000 untyped a/unknown`}, Dropped{}},
		{"known escapes still resolved", FormatText, `a{x="q\"\\\n"} 1` + "\n", []string{
			`a{job="j",x="q\"\\\n"} 1 @1700000100000 untyped a/unknown`}, Dropped{}},
		// No le / quantile, or one that is not a number: textparse stores
		// the series as written (normalizeFloatsInLabelValues leaves a
		// non-number alone); promfwd sends it as a plain untyped sample.
		{"bucket without le", FormatText, "# TYPE h histogram\nh_bucket 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n", []string{
			`h_bucket{job="j"} 1 @1700000100000 untyped h/histogram`,
			`h_bucket{job="j",le="+Inf"} 2 @1700000100000 histogram_bucket h/histogram`,
			`h_sum{job="j"} 3 @1700000100000 histogram_sum h/histogram`,
			`h_count{job="j"} 2 @1700000100000 histogram_count h/histogram`}, Dropped{}},
		{"le not a number", FormatOpenMetrics, om("# TYPE h histogram\nh_bucket{le=\"big\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"), []string{
			`h_bucket{job="j",le="big"} 1 @1700000100000 untyped h/histogram`,
			`h_bucket{job="j",le="+Inf"} 1 @1700000100000 histogram_bucket h/histogram`,
			`h_sum{job="j"} 1 @1700000100000 histogram_sum h/histogram`,
			`h_count{job="j"} 1 @1700000100000 histogram_count h/histogram`}, Dropped{}},
		{"summary without quantile", FormatText, "# TYPE s summary\ns 1\ns{quantile=\"0.5\"} 2\ns_sum 3\ns_count 4\n", []string{
			`s{job="j"} 1 @1700000100000 untyped s/summary`,
			`s{job="j",quantile="0.5"} 2 @1700000100000 summary_quantile s/summary`,
			`s_sum{job="j"} 3 @1700000100000 summary_sum s/summary`,
			`s_count{job="j"} 4 @1700000100000 summary_count s/summary`}, Dropped{}},
		// Text has no _created: textparse stores X_created as a series,
		// expfmt as an untyped family; the typed family goes on after it.
		{"text _created after counter", FormatText, "# TYPE c_total counter\nc_total{a=\"1\"} 1\nc_created{a=\"1\"} 1.7e9\nc_total{a=\"2\"} 2\nc_created{a=\"2\"} 1.7e9\n", []string{
			`c_total{a="1",job="j"} 1 @1700000100000 counter c_total/counter`,
			`c_created{a="1",job="j"} 1.7e+09 @1700000100000 untyped c_total/counter`,
			`c_total{a="2",job="j"} 2 @1700000100000 counter c_total/counter`,
			`c_created{a="2",job="j"} 1.7e+09 @1700000100000 untyped c_total/counter`}, Dropped{}},
		{"text _created after histogram", FormatText, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 2\nh_created 1.7e9\n", []string{
			`h_bucket{job="j",le="+Inf"} 1 @1700000100000 histogram_bucket h/histogram`,
			`h_count{job="j"} 1 @1700000100000 histogram_count h/histogram`,
			`h_sum{job="j"} 2 @1700000100000 histogram_sum h/histogram`,
			`h_created{job="j"} 1.7e+09 @1700000100000 untyped h/histogram`}, Dropped{}},
		{"text _created after summary", FormatText, "# TYPE s summary\ns_sum 2\ns_count 1\ns_created 1.7e9\n", []string{
			`s_sum{job="j"} 2 @1700000100000 summary_sum s/summary`,
			`s_count{job="j"} 1 @1700000100000 summary_count s/summary`,
			`s_created{job="j"} 1.7e+09 @1700000100000 untyped s/summary`}, Dropped{}},
		// OpenMetrics' _created stays a start time, not a sample.
		{"openmetrics _created skipped", FormatOpenMetrics, om("# TYPE c counter\nc_total 1\nc_created 1.7e9\n"), []string{
			`c_total{job="j"} 1 @1700000100000 counter c/counter`}, Dropped{}},
		// int64(ts*1000) of a finite timestamp beyond int64 ms is out of
		// bounds for Prometheus' storage: that sample is dropped.
		{"openmetrics timestamp beyond int64 ms", FormatOpenMetrics, om("a 1 1e300\nb 2 -1e17\nc 3 1700000000.5\n"), []string{
			`c{job="j"} 3 @1700000000500* untyped c/unknown`}, Dropped{OutOfBounds: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, dropped := ecParse(t, c.f, c.body)
			ptDiff(t, got, c.want)
			if dropped != c.dropped {
				t.Errorf("Dropped = %+v, want %+v", dropped, c.dropped)
			}
		})
	}
}

// ecNativeFamilies is a histogram with only native buckets and one with
// both kinds, as client_golang writes them with native histograms on.
func ecNativeFamilies() []*dto.MetricFamily {
	native := &dto.Histogram{
		SampleCount: proto.Uint64(5), SampleSum: proto.Float64(2.5),
		Schema: proto.Int32(3), ZeroThreshold: proto.Float64(1e-128), ZeroCount: proto.Uint64(1),
		PositiveSpan: []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(2)}}, PositiveDelta: []int64{2, 0},
	}
	both := proto.Clone(native).(*dto.Histogram)
	both.Bucket = []*dto.Bucket{{UpperBound: proto.Float64(1), CumulativeCount: proto.Uint64(3)}}
	return []*dto.MetricFamily{
		{Name: proto.String("native_seconds"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{{Histogram: native}}},
		{Name: proto.String("both_seconds"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{{Histogram: both}}},
	}
}

var ecNativeWant = []string{
	`native_seconds_bucket{job="j",le="+Inf"} 5 @1700000100000 histogram_bucket native_seconds/histogram`,
	`native_seconds_sum{job="j"} 2.5 @1700000100000 histogram_sum native_seconds/histogram`,
	`native_seconds_count{job="j"} 5 @1700000100000 histogram_count native_seconds/histogram`,
	`both_seconds_bucket{job="j",le="1.0"} 3 @1700000100000 histogram_bucket both_seconds/histogram`,
	`both_seconds_bucket{job="j",le="+Inf"} 5 @1700000100000 histogram_bucket both_seconds/histogram`,
	`both_seconds_sum{job="j"} 2.5 @1700000100000 histogram_sum both_seconds/histogram`,
	`both_seconds_count{job="j"} 5 @1700000100000 histogram_count both_seconds/histogram`,
}

// TestParseNativeHistogramAsClassic is issue 20 item 5 (conversion): a
// native histogram over protobuf comes out as Prometheus stores it with
// native histograms off: classic buckets, le="+Inf" from the count, _sum
// and _count; never _sum and _count alone.
func TestParseNativeHistogramAsClassic(t *testing.T) {
	got, _ := ecParse(t, FormatProtobuf, string(ptEncode(t, ecNativeFamilies(), FormatProtobuf)))
	ptDiff(t, got, ecNativeWant)
}

// TestScrapeProtocolsNegotiation is issue 20 item 5 (negotiation): against
// a target that negotiates as client_golang does (expfmt.Negotiate), the
// default Accept gets the text format, as Prometheus 3 gets it;
// scrape_protocols with PrometheusProto first gets protobuf. Both yield the
// same complete histograms.
func TestScrapeProtocolsNegotiation(t *testing.T) {
	served := make(chan expfmt.Format, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := expfmt.Negotiate(r.Header)
		served <- f
		w.Header().Set("Content-Type", string(f))
		enc := expfmt.NewEncoder(w, f)
		for _, mf := range ecNativeFamilies() {
			if err := enc.Encode(mf); err != nil {
				t.Error(err)
			}
		}
	}))
	defer srv.Close()
	for _, c := range []struct {
		name      string
		protocols []string
		want      expfmt.FormatType
	}{
		{"default", nil, expfmt.TypeTextPlain},
		{"PrometheusProto first", []string{ProtocolPrometheusProto, ProtocolOpenMetricsText1_0_0, ProtocolPrometheusText0_0_4}, expfmt.TypeProtoDelim},
	} {
		t.Run(c.name, func(t *testing.T) {
			tg := tgtNew(t, srv.URL, func(tc *TargetConfig) {
				tc.ScrapeProtocols = c.protocols
				tc.TargetLabels = Labels{{Name: "job", Value: "j"}}
			})
			res := tg.Scrape(context.Background(), tgtNow)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if f := <-served; f.FormatType() != c.want {
				t.Errorf("target answered %s, want %v", f, c.want)
			}
			got := make([]string, 0, len(res.Samples))
			for _, s := range res.Samples {
				s.TimestampMs = ptNow
				s.Meta = &Meta{Family: s.Meta.Family, Type: s.Meta.Type} // help differs by format
				got = append(got, ptRender(s))
			}
			want := slices.Clone(ecNativeWant)
			slices.Sort(got)
			slices.Sort(want)
			ptDiff(t, got, want)
		})
	}
	if _, err := NewTarget(TargetConfig{Name: "x", URL: srv.URL, ScrapeProtocols: []string{"OpenMetricsText2.0.0"}}); err == nil {
		t.Error("OpenMetricsText2.0.0 accepted; promfwd cannot parse it")
	}
}
