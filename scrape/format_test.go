package scrape

import (
	"strings"
	"testing"
)

func TestFormatFromContentType(t *testing.T) {
	cases := []struct {
		ct   string
		want Format
	}{
		{"", FormatText},
		{"text/plain; version=0.0.4; charset=utf-8", FormatText},
		{"text/plain", FormatText},
		{"application/openmetrics-text; version=1.0.0; charset=utf-8", FormatOpenMetrics},
		{"application/openmetrics-text;version=0.0.1", FormatOpenMetrics},
		{"Application/OpenMetrics-Text", FormatOpenMetrics},
		{"application/openmetrics-text; version=2.0.0", FormatText},
		{"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", FormatProtobuf},
		{"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=text", FormatText},
		{"application/vnd.google.protobuf", FormatText},
		{"application/json", FormatText},
		{"garbage;;;=", FormatText},
	}
	for _, c := range cases {
		if got := FormatFromContentType(c.ct); got != c.want {
			t.Errorf("FormatFromContentType(%q) = %s, want %s", c.ct, got, c.want)
		}
	}
}

func TestFormatString(t *testing.T) {
	for f, want := range map[Format]string{FormatText: "text", FormatOpenMetrics: "openmetrics", FormatProtobuf: "protobuf", 9: "format(9)"} {
		if got := f.String(); got != want {
			t.Errorf("Format(%d).String() = %q, want %q", f, got, want)
		}
	}
}

// TestAcceptHeader checks the preference order: Prometheus 3's default
// (text formats first; the exact header its acceptHeader builds for
// DefaultScrapeProtocols with the allow-utf-8 escaping default), each
// offered type maps to the expected parser and q-values strictly decrease.
func TestAcceptHeader(t *testing.T) {
	const prometheus3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.7," +
		"application/openmetrics-text;version=0.0.1;q=0.6," +
		"text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5," +
		"text/plain;version=0.0.4;q=0.4,*/*;q=0.3"
	if AcceptHeader != prometheus3 {
		t.Errorf("AcceptHeader =\n%s\nwant Prometheus 3's\n%s", AcceptHeader, prometheus3)
	}
	parts := strings.Split(AcceptHeader, ",")
	want := []Format{FormatOpenMetrics, FormatOpenMetrics, FormatText, FormatText}
	if len(parts) != len(want)+1 || !strings.HasPrefix(parts[len(parts)-1], "*/*;q=") {
		t.Fatalf("AcceptHeader = %q", AcceptHeader)
	}
	prevQ := "1"
	for i, part := range parts {
		q := part[strings.LastIndex(part, "q=")+2:]
		if q >= prevQ {
			t.Errorf("q-values not decreasing at %q", part)
		}
		prevQ = q
		if i < len(want) {
			if got := FormatFromContentType(part); got != want[i] {
				t.Errorf("%q parses as %s, want %s", part, got, want[i])
			}
		}
	}
}
