package scrape

import (
	"errors"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// ecParse parses body twice with one parser (the second time from its line
// cache) and once with a fresh parser; all three must agree, samples and
// Dropped alike. It returns the rendered samples and the counts.
func ecParse(t *testing.T, f Format, body string) ([]string, Dropped) {
	t.Helper()
	opt := ParseOptions{NowMs: ptNow, TargetLabels: Labels{{Name: "job", Value: "j"}}}
	warm := NewParser()
	var first []string
	var firstDropped Dropped
	for i := range 2 {
		samples, err := warm.Parse(f, []byte(body), opt)
		if err != nil {
			t.Fatalf("parse %d: %v", i+1, err)
		}
		ptCheck(t, samples)
		got := ptRenderAll(samples)
		if i == 0 {
			first, firstDropped = got, warm.Dropped()
			continue
		}
		ptDiffNamed(t, "second parse (line cache)", got, first)
		if warm.Dropped() != firstDropped {
			t.Errorf("second parse dropped %+v, first %+v", warm.Dropped(), firstDropped)
		}
	}
	return first, firstDropped
}

func ptDiffNamed(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestParseDropsDuplicateSeries is issue 20 item 3: a series repeated in
// one exposition keeps its first sample; the rest are dropped and counted,
// as Prometheus' scrape does (it drops a repeat of a series it already
// appended in this scrape; with explicit timestamps its storage keeps only
// increasing ones).
func TestParseDropsDuplicateSeries(t *testing.T) {
	om := func(s string) string { return s + "# EOF\n" }
	cases := []struct {
		name    string
		f       Format
		body    string
		want    []string
		dropped Dropped
	}{
		{"same line twice", FormatText, "a{x=\"1\"} 1\nb 5\na{x=\"1\"} 2\n", []string{
			`a{job="j",x="1"} 1 @1700000100000 untyped a/unknown`,
			`b{job="j"} 5 @1700000100000 untyped b/unknown`}, Dropped{Duplicate: 1}},
		{"label order differs", FormatText, "a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\na{ y=\"2\", x=\"1\" } 3\n", []string{
			`a{job="j",x="1",y="2"} 1 @1700000100000 untyped a/unknown`}, Dropped{Duplicate: 2}},
		{"empty label set and empty value", FormatText, "a 1\na{} 2\na{x=\"\"} 3\n", []string{
			`a{job="j"} 1 @1700000100000 untyped a/unknown`}, Dropped{Duplicate: 2}},
		{"bucket bound spelled twice", FormatText, "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 1\nh_count 3\n", []string{
			`h_bucket{job="j",le="1.0"} 1 @1700000100000 histogram_bucket h/histogram`,
			`h_bucket{job="j",le="+Inf"} 3 @1700000100000 histogram_bucket h/histogram`,
			`h_sum{job="j"} 1 @1700000100000 histogram_sum h/histogram`,
			`h_count{job="j"} 3 @1700000100000 histogram_count h/histogram`}, Dropped{Duplicate: 1}},
		{"family repeated", FormatText, "# TYPE c counter\nc_total 1\n# TYPE c counter\nc_total 2\n", []string{
			`c_total{job="j"} 1 @1700000100000 counter c/counter`}, Dropped{Duplicate: 1}},
		{"same explicit timestamp", FormatText, "a 1 1000\na 2 1000\n", []string{
			`a{job="j"} 1 @1000* untyped a/unknown`}, Dropped{Duplicate: 1}},
		{"increasing timestamps kept, older one dropped", FormatText, "a 1 1000\na 2 2000\na 3 1500\n", []string{
			`a{job="j"} 1 @1000* untyped a/unknown`,
			`a{job="j"} 2 @2000* untyped a/unknown`}, Dropped{OutOfOrder: 1}},
		{"series again after another, later then same timestamp", FormatText, "a 1 1000\nb 1\na 2 2000\nb 2\na 3 2000\n", []string{
			`a{job="j"} 1 @1000* untyped a/unknown`,
			`b{job="j"} 1 @1700000100000 untyped b/unknown`,
			`a{job="j"} 2 @2000* untyped a/unknown`}, Dropped{Duplicate: 2}},
		{"openmetrics", FormatOpenMetrics, om("# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n"), []string{
			`a{job="j",x="1"} 1 @1700000100000 gauge a/gauge`}, Dropped{Duplicate: 1}},
		{"openmetrics quoted name", FormatOpenMetrics, om("a{x=\"1\"} 1\n{\"a\",x=\"1\"} 2\n"), []string{
			`a{job="j",x="1"} 1 @1700000100000 untyped a/unknown`}, Dropped{Duplicate: 1}},
		{"exposed label renamed onto another", FormatText, "a{exported_job=\"x\"} 1\na{job=\"x\"} 2\n", []string{
			`a{exported_job="x",job="j"} 1 @1700000100000 untyped a/unknown`}, Dropped{Duplicate: 1}},
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

// A second spelling of a series that appears only in a later scrape, once
// the first spelling is cached, is still a duplicate, whichever comes first.
func TestParseDuplicateAcrossCachedSpellings(t *testing.T) {
	p := NewParser()
	opt := ParseOptions{NowMs: ptNow}
	for i, body := range []string{
		"a{x=\"1\",y=\"2\"} 1\n",
		"a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n",
		"a{y=\"2\",x=\"1\"} 2\na{x=\"1\",y=\"2\"} 1\n",
		"a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n",
		"a{x=\"1\",y=\"2\"} 1\n",
	} {
		samples, err := p.Parse(FormatText, []byte(body), opt)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Count(body, "\n") - 1
		if len(samples) != 1 || p.Dropped().Duplicate != want {
			t.Errorf("scrape %d: %d samples, %d duplicates; want 1 and %d", i+1, len(samples), p.Dropped().Duplicate, want)
		}
	}
}

func TestParseDropsDuplicateProtobuf(t *testing.T) {
	g := func(v float64, l string) *dto.Metric {
		return &dto.Metric{Label: []*dto.LabelPair{{Name: proto.String("x"), Value: proto.String(l)}}, Gauge: &dto.Gauge{Value: proto.Float64(v)}}
	}
	fams := []*dto.MetricFamily{
		{Name: proto.String("a"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{g(1, "1"), g(2, "1"), g(3, "2")}},
		{Name: proto.String("a"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{g(4, "2")}},
	}
	got, dropped := ecParse(t, FormatProtobuf, string(ptEncode(t, fams, FormatProtobuf)))
	ptDiff(t, got, []string{
		`a{job="j",x="1"} 1 @1700000100000 gauge a/gauge`,
		`a{job="j",x="2"} 3 @1700000100000 gauge a/gauge`})
	if dropped != (Dropped{Duplicate: 2}) {
		t.Errorf("Dropped = %+v", dropped)
	}
}

// TestParseRejectsGoOnlyNumbers is issue 20 item 4: numbers that Go's
// strconv accepts but the formats do not are errors, in values, exemplar
// values and timestamps alike, as in Prometheus' textparse and expfmt (both
// refuse 'p', 'P' and '_' before strconv.ParseFloat; text timestamps are
// base-10 integers).
func TestParseRejectsGoOnlyNumbers(t *testing.T) {
	om := func(s string) string { return s + "\n# EOF\n" }
	bad := []struct {
		name string
		f    Format
		body string
	}{
		{"value 1_2", FormatText, "a 1_2\n"},
		{"value 0x1p-3", FormatText, "a 0x1p-3\n"},
		{"value 0X1P3", FormatText, "a 0X1P3\n"},
		{"value 0x10", FormatText, "a 0x10\n"},
		{"value 0b1", FormatText, "a 0b1\n"},
		{"value 1p3", FormatText, "a 1p3\n"},
		{"timestamp 1_2", FormatText, "a 1 1_2\n"},
		{"timestamp 0x10", FormatText, "a 1 0x10\n"},
		{"openmetrics value 1_2", FormatOpenMetrics, om("a 1_2")},
		{"openmetrics value 0x1p-3", FormatOpenMetrics, om("a 0x1p-3")},
		{"openmetrics timestamp 1_2", FormatOpenMetrics, om("a 1 1_2")},
		{"openmetrics timestamp 0x1p-3", FormatOpenMetrics, om("a 1 0x1p-3")},
		{"openmetrics timestamp +Inf", FormatOpenMetrics, om("a 1 +Inf")},
		{"openmetrics timestamp NaN", FormatOpenMetrics, om("a 1 NaN")},
		{"exemplar value 1_2", FormatOpenMetrics, om("# TYPE c counter\nc_total 1 # {t=\"x\"} 1_2")},
		{"exemplar timestamp 0x1p-3", FormatOpenMetrics, om("# TYPE c counter\nc_total 1 # {t=\"x\"} 1 0x1p-3")},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewParser().Parse(c.f, []byte(c.body), ParseOptions{NowMs: ptNow})
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
		})
	}
	// What both reference parsers accept stays accepted.
	got := ptParse(t, FormatText, "a 1e3\nb .5\nc 5.\nd Inf\ne -infinity\nf +Inf\ng 1E-2 -5\n", ParseOptions{})
	ptDiff(t, got, []string{
		`a 1000 @1700000100000 untyped a/unknown`,
		`b 0.5 @1700000100000 untyped b/unknown`,
		`c 5 @1700000100000 untyped c/unknown`,
		`d +Inf @1700000100000 untyped d/unknown`,
		`e -Inf @1700000100000 untyped e/unknown`,
		`f +Inf @1700000100000 untyped f/unknown`,
		`g 0.01 @-5* untyped g/unknown`})
}
