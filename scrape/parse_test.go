package scrape

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

const ptNow = int64(1_700_000_100_000)

// ptRender is the one-line-per-sample form used by tests and golden files:
// name{labels} value @ts[*] kind family/type [unit=u] [help="h"]; a star
// marks an exposition timestamp.
func ptRender(s Sample) string {
	var b strings.Builder
	b.WriteString(s.Name)
	for i, l := range s.Labels.All() { // values quoted, so a sample stays on one line
		sep := ","
		if i == 0 {
			sep = "{"
		}
		fmt.Fprintf(&b, "%s%s=%q", sep, l.Name, l.Value)
	}
	if s.Labels.Len() > 0 {
		b.WriteByte('}')
	}
	fmt.Fprintf(&b, " %s @%d", strconv.FormatFloat(s.Value, 'g', -1, 64), s.TimestampMs)
	if s.ExplicitTS {
		b.WriteByte('*')
	}
	fmt.Fprintf(&b, " %s", s.Kind)
	if s.Meta != nil {
		fmt.Fprintf(&b, " %s/%s", s.Meta.Family, s.Meta.Type)
		if s.Meta.Unit != "" {
			fmt.Fprintf(&b, " unit=%s", s.Meta.Unit)
		}
		if s.Meta.Help != "" {
			fmt.Fprintf(&b, " help=%q", s.Meta.Help)
		}
	}
	return b.String()
}

func ptRenderAll(samples []Sample) []string {
	out := make([]string, len(samples))
	for i, s := range samples {
		out[i] = ptRender(s)
	}
	return out
}

// ptCheck asserts the invariants every parsed sample must hold.
func ptCheck(t testing.TB, samples []Sample) {
	t.Helper()
	if err := ptInvariants(samples); err != nil {
		t.Fatal(err)
	}
}

func ptInvariants(samples []Sample) error {
	for i, s := range samples {
		for j, l := range s.Labels.All() {
			if l.Name == "" || l.Value == "" {
				return fmt.Errorf("sample %d %s: empty label name or value", i, s.Name)
			}
			if j > 0 && s.Labels.Name(j-1) >= l.Name {
				return fmt.Errorf("sample %d %s: labels not sorted/unique: %s", i, s.Name, s.Labels)
			}
		}
		if s.Hash != SeriesHash(s.Name, s.Labels.Labels()) {
			return fmt.Errorf("sample %d %s: hash mismatch", i, s.Name)
		}
		if s.Meta == nil {
			return fmt.Errorf("sample %d %s: nil Meta", i, s.Name)
		}
	}
	return nil
}

func ptParse(t *testing.T, f Format, body string, opt ParseOptions) []string {
	t.Helper()
	if opt.NowMs == 0 {
		opt.NowMs = ptNow
	}
	samples, err := NewParser().Parse(f, []byte(body), opt)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	ptCheck(t, samples)
	return ptRenderAll(samples)
}

func ptDiff(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("samples:\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestParseText(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"counter with help", "# HELP req_total Requests \\\\ \\n served.\n# TYPE req_total counter\nreq_total{code=\"200\"} 7\n",
			[]string{`req_total{code="200"} 7 @1700000100000 counter req_total/counter help="Requests \\ \n served."`}},
		{"gauge with timestamp and tabs", "# TYPE temp gauge\n\ttemp \t{ b=\"2\" , a=\"1\" ,}\t21.5 \t1700000000000  \n",
			[]string{`temp{a="1",b="2"} 21.5 @1700000000000* gauge temp/gauge`}},
		{"label escapes", `x{a="q\"b\\n\n"} 1` + "\n",
			[]string{`x{a="q\"b\\n\n"} 1 @1700000100000 untyped x/unknown`}},
		{"quoted utf8 names", "# TYPE \"my.metric\" gauge\n{\"my.metric\",\"ünï.code\"=\"v\",b=\"c\"} 3\n",
			[]string{`my.metric{b="c",ünï.code="v"} 3 @1700000100000 gauge my.metric/gauge`}},
		{"__name__ label", `{__name__="up",job="a"} 1` + "\n",
			[]string{`up{job="a"} 1 @1700000100000 untyped up/unknown`}},
		{"special values", "v{k=\"a\"} NaN\nv{k=\"b\"} +Inf\nv{k=\"c\"} -Inf\nv{k=\"d\"} -1.5e-7\n", []string{
			`v{k="a"} NaN @1700000100000 untyped v/unknown`,
			`v{k="b"} +Inf @1700000100000 untyped v/unknown`,
			`v{k="c"} -Inf @1700000100000 untyped v/unknown`,
			`v{k="d"} -1.5e-07 @1700000100000 untyped v/unknown`}},
		{"histogram le normalised", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"2.50\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 4.5\nh_count 3\n", []string{
			`h_bucket{le="1.0"} 1 @1700000100000 histogram_bucket h/histogram`,
			`h_bucket{le="2.5"} 2 @1700000100000 histogram_bucket h/histogram`,
			`h_bucket{le="+Inf"} 3 @1700000100000 histogram_bucket h/histogram`,
			`h_sum 4.5 @1700000100000 histogram_sum h/histogram`,
			`h_count 3 @1700000100000 histogram_count h/histogram`}},
		{"summary", "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns{quantile=\"1\"} 2\ns_sum 3\ns_count 4\n", []string{
			`s{quantile="0.5"} 1 @1700000100000 summary_quantile s/summary`,
			`s{quantile="1.0"} 2 @1700000100000 summary_quantile s/summary`,
			`s_sum 3 @1700000100000 summary_sum s/summary`,
			`s_count 4 @1700000100000 summary_count s/summary`}},
		{"untyped declared", "# TYPE u untyped\nu 1\n", []string{`u 1 @1700000100000 untyped u/unknown`}},
		{"foreign sample starts untyped family", "# TYPE a gauge\na 1\nb 2\nb{x=\"y\"} 3\n", []string{
			`a 1 @1700000100000 gauge a/gauge`,
			`b 2 @1700000100000 untyped b/unknown`,
			`b{x="y"} 3 @1700000100000 untyped b/unknown`}},
		{"comments and blank lines ignored", "# just a comment\n\n   \n# EOF\nz 1\n", []string{`z 1 @1700000100000 untyped z/unknown`}},
		{"empty label value dropped", `e{a="",b="x"} 1` + "\n", []string{`e{b="x"} 1 @1700000100000 untyped e/unknown`}},
		{"help without type", "# HELP h2 Some help.\nh2 5\n", []string{`h2 5 @1700000100000 untyped h2/unknown help="Some help."`}},
		{"no trailing newline", "n 1", []string{`n 1 @1700000100000 untyped n/unknown`}},
		{"counter family without _total", "# TYPE c counter\nc 1\nc_total 2\nc_created 3\n", []string{
			`c 1 @1700000100000 counter c/counter`,
			`c_total 2 @1700000100000 counter c/counter`,
			`c_created 3 @1700000100000 untyped c/counter`}}, // text has no _created: kept, as Prometheus does
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ptDiff(t, ptParse(t, FormatText, c.in, ParseOptions{}), c.want)
		})
	}
}

func TestParseOpenMetrics(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"counter total created exemplar unit", "# TYPE req counter\n# UNIT req requests\n# HELP req Requests \\\"served\\\".\n" +
			"req_total{code=\"200\"} 7 # {trace_id=\"abc\"} 1.0 1700000000.5\nreq_created{code=\"200\"} 1.6e9\n# EOF\n",
			[]string{`req_total{code="200"} 7 @1700000100000 counter req/counter unit=requests help="Requests \"served\"."`}},
		{"float timestamps", "# TYPE g gauge\ng 1 1700000000.123\ng{a=\"b\"} 2 1700000000\n# EOF", []string{
			`g 1 @1700000000123* gauge g/gauge`,
			`g{a="b"} 2 @1700000000000* gauge g/gauge`}},
		{"histogram with created and exemplar", "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1 # {id=\"x\"} 0.3\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.9\nh_count 2\nh_created 1.6e9\n# EOF\n", []string{
			`h_bucket{le="0.5"} 1 @1700000100000 histogram_bucket h/histogram`,
			`h_bucket{le="+Inf"} 2 @1700000100000 histogram_bucket h/histogram`,
			`h_sum 0.9 @1700000100000 histogram_sum h/histogram`,
			`h_count 2 @1700000100000 histogram_count h/histogram`}},
		{"gaugehistogram", "# TYPE q gaugehistogram\nq_bucket{le=\"10\"} 1\nq_bucket{le=\"+Inf\"} 4\nq_gcount 4\nq_gsum 12\n# EOF\n", []string{
			`q_bucket{le="10.0"} 1 @1700000100000 histogram_bucket q/gaugehistogram`,
			`q_bucket{le="+Inf"} 4 @1700000100000 histogram_bucket q/gaugehistogram`,
			`q_gcount 4 @1700000100000 histogram_count q/gaugehistogram`,
			`q_gsum 12 @1700000100000 histogram_sum q/gaugehistogram`}},
		{"summary with created", "# TYPE s summary\ns{quantile=\"0.9\"} 1\ns_sum 2\ns_count 3\ns_created 1.6e9\n# EOF\n", []string{
			`s{quantile="0.9"} 1 @1700000100000 summary_quantile s/summary`,
			`s_sum 2 @1700000100000 summary_sum s/summary`,
			`s_count 3 @1700000100000 summary_count s/summary`}},
		{"info stateset unknown", "# TYPE build info\nbuild_info{version=\"1.2\"} 1\n# TYPE st stateset\nst{st=\"a\"} 1\nst{st=\"b\"} 0\n# TYPE x unknown\nx 3\n# EOF\n", []string{
			`build_info{version="1.2"} 1 @1700000100000 info build/info`,
			`st{st="a"} 1 @1700000100000 stateset st/stateset`,
			`st{st="b"} 0 @1700000100000 stateset st/stateset`,
			`x 3 @1700000100000 untyped x/unknown`}},
		{"empty exposition", "# EOF\n", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ptDiff(t, ptParse(t, FormatOpenMetrics, c.in, ParseOptions{}), c.want)
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name   string
		format Format
		in     string
		line   int
		msg    string
	}{
		{"duplicate label", FormatText, "ok 1\nx{a=\"1\",a=\"2\"} 1\n", 2, `duplicate label name "a"`},
		{"duplicate label after empty", FormatText, "x{a=\"\",a=\"2\"} 1\n", 1, "duplicate label name"},
		{"invalid value", FormatText, "x 1x\n", 1, "invalid value"},
		{"missing value", FormatText, "x{a=\"b\"}\n", 1, "expected blank and value"},
		{"float timestamp in text", FormatText, "x 1 1.5\n", 1, "invalid timestamp"},
		{"garbage after timestamp", FormatText, "x 1 2 3\n", 1, "unexpected"},
		{"exemplar in text", FormatText, "x 1 # {a=\"b\"} 1\n", 1, "unexpected"},
		{"unterminated quote", FormatText, "x{a=\"b} 1\n", 1, "unterminated"},
		{"unterminated label set", FormatText, "x{a=\"b\"", 1, "unterminated label set"},
		{"bad metric name", FormatText, "1abc 1\n", 1, "invalid metric name"},
		{"bad label name", FormatText, "x{1a=\"b\"} 1\n", 1, "invalid label name"},
		{"missing equals", FormatText, "x{a \"b\"} 1\n", 1, "expected '='"},
		{"missing comma", FormatText, "x{a=\"b\" c=\"d\"} 1\n", 1, "expected ','"},
		{"second TYPE", FormatText, "# TYPE a gauge\n# TYPE a counter\n", 2, "second TYPE"},
		{"invalid type", FormatText, "# TYPE a bogus\n", 1, "invalid metric type"},
		{"TYPE without name", FormatText, "# TYPE\n", 1, "without metric name"},
		{"invalid utf8 value", FormatText, "x{a=\"\xff\"} 1\n", 1, "invalid UTF-8"},
		{"name twice", FormatText, "x{__name__=\"y\"} 1\n", 1, "metric name given twice"},
		{"quoted string not first", FormatText, "{a=\"b\",\"n\"} 1\n", 1, "unexpected quoted string"},
		{"missing name", FormatText, "{a=\"b\"} 1\n", 1, "missing metric name"},
		{"om missing eof", FormatOpenMetrics, "a 1\nb 2\n", 2, "missing # EOF"},
		{"om content after eof", FormatOpenMetrics, "a 1\n# EOF\nb 2\n", 3, "content after # EOF"},
		{"om blank after eof", FormatOpenMetrics, "# EOF\n\n", 2, "content after # EOF"},
		{"om empty line", FormatOpenMetrics, "a 1\n\n# EOF\n", 2, "empty line"},
		{"om unknown comment", FormatOpenMetrics, "# hello\n# EOF\n", 1, "invalid comment"},
		{"om bad exemplar", FormatOpenMetrics, "a_total 1 # trace\n# EOF\n", 1, "invalid exemplar"},
		{"om bad exemplar value", FormatOpenMetrics, "a_total 1 # {t=\"x\"} y\n# EOF\n", 1, "invalid exemplar value"},
		{"om bad timestamp", FormatOpenMetrics, "a 1 NaN\n# EOF\n", 1, "invalid timestamp"},
		{"protobuf truncated", FormatProtobuf, "\x10\x0a\x03abc", 1, "exceeds"},
		{"protobuf bad length", FormatProtobuf, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 1, "length prefix"},
		{"protobuf bad message", FormatProtobuf, "\x02\xff\xff", 1, "decode MetricFamily"},
		{"protobuf no name", FormatProtobuf, "\x00", 1, "without name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			samples, err := NewParser().Parse(c.format, []byte(c.in), ParseOptions{NowMs: ptNow})
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if samples != nil {
				t.Errorf("samples = %v, want nil on error", samples)
			}
			if pe.Format != c.format || pe.Line != c.line || !strings.Contains(pe.Msg, c.msg) {
				t.Errorf("err = %+v, want %s line %d containing %q", pe, c.format, c.line, c.msg)
			}
			unit := "line"
			if c.format == FormatProtobuf {
				unit = "message"
			}
			if want := fmt.Sprintf("parse %s %s %d: ", c.format, unit, c.line); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", err.Error(), want)
			}
		})
	}
}

func TestParseOwnershipAcrossScrapes(t *testing.T) {
	p := NewParser()
	first, err := p.Parse(FormatText, []byte("# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 2\n"), ParseOptions{NowMs: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := ptRenderAll(first)
	firstMeta := first[0].Meta
	for i := range 3 {
		body := fmt.Sprintf("# TYPE a gauge\na{x=\"%d\",y=\"z\"} 9\nb 3\nc{q=\"r\"} 4\nd 5\n", i+3)
		if _, err := p.Parse(FormatText, []byte(body), ParseOptions{NowMs: int64(i + 2), TargetLabels: Labels{{"j", "k"}}}); err != nil {
			t.Fatal(err)
		}
	}
	ptDiff(t, ptRenderAll(first), want)
	again, err := p.Parse(FormatText, []byte("# TYPE a gauge\na{x=\"1\"} 1\n"), ParseOptions{NowMs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Meta != firstMeta {
		t.Errorf("unchanged family did not reuse its Meta")
	}
	changed, err := p.Parse(FormatText, []byte("# HELP a new help\n# TYPE a gauge\na{x=\"1\"} 1\n"), ParseOptions{NowMs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if changed[0].Meta == firstMeta || changed[0].Meta.Help != "new help" || firstMeta.Help != "" {
		t.Errorf("changed family shares or mutated the old Meta: %+v", changed[0].Meta)
	}
}

func TestParseMetaOnePerFamily(t *testing.T) {
	body := "# TYPE a gauge\na 1\na{l=\"x\"} 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\na{l=\"y\"} 2\n"
	samples, err := NewParser().Parse(FormatText, []byte(body), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if samples[0].Meta != samples[1].Meta || samples[0].Meta == samples[3].Meta || samples[0].Meta == samples[2].Meta {
		t.Errorf("Meta sharing wrong: %p %p %p %p", samples[0].Meta, samples[1].Meta, samples[2].Meta, samples[3].Meta)
	}
}

func TestParseGroupsContiguous(t *testing.T) {
	fams := ptGenFamilies(1000, 7)
	for _, f := range []Format{FormatText, FormatOpenMetrics, FormatProtobuf} {
		t.Run(f.String(), func(t *testing.T) {
			samples, err := NewParser().Parse(f, ptEncode(t, fams, f), ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			groups := 0
			for i := 0; i < len(samples); i = GroupEnd(samples, i) {
				if samples[i].Kind == KindHistogramBucket {
					if n := GroupEnd(samples, i) - i; n != 13 {
						t.Fatalf("histogram group at %d has %d samples, want 13 (10 buckets, +Inf, sum, count)", i, n)
					}
					groups++
				}
			}
			if groups != 100 {
				t.Errorf("histogram groups = %d, want 100", groups)
			}
		})
	}
}

func TestParseTimestampsAndNaN(t *testing.T) {
	got, ok, inRange := parseOMTimestamp([]byte("1700000000.123"))
	if !ok || !inRange || got != 1_700_000_000_123 {
		t.Errorf("parseOMTimestamp = %d %v %v", got, ok, inRange)
	}
	for _, bad := range []string{"", "NaN", "+Inf", "x", "0x1p-3", "1_2"} {
		if _, ok, _ := parseOMTimestamp([]byte(bad)); ok {
			t.Errorf("parseOMTimestamp(%q) accepted", bad)
		}
	}
	for _, far := range []string{"1e300", "-1e300", "9223372036854776"} {
		if _, ok, inRange := parseOMTimestamp([]byte(far)); !ok || inRange {
			t.Errorf("parseOMTimestamp(%q) = ok %v, in range %v; want a number out of range", far, ok, inRange)
		}
	}
	for f, want := range map[float64]string{1: "1.0", 0.25: "0.25", 1e21: "1e+21", math.Inf(1): "+Inf", math.Inf(-1): "-Inf", -3: "-3.0"} {
		if got := string(appendOMFloat(nil, f)); got != want {
			t.Errorf("appendOMFloat(%g) = %q, want %q", f, got, want)
		}
	}
}
