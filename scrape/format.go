package scrape

import (
	"fmt"
	"mime"
	"strconv"
	"strings"
)

// Format is an exposition format understood by Parser.
type Format uint8

// Exposition formats, chosen per response by FormatFromContentType.
const (
	FormatText        Format = iota // Prometheus text 0.0.4 (and quoted UTF-8 names)
	FormatOpenMetrics               // OpenMetrics 1.0 text (0.0.1 is parsed the same way)
	FormatProtobuf                  // length-delimited io.prometheus.client.MetricFamily
)

// String returns the format's short name as used in errors and logs.
func (f Format) String() string {
	switch f {
	case FormatText:
		return "text"
	case FormatOpenMetrics:
		return "openmetrics"
	case FormatProtobuf:
		return "protobuf"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// FormatFromContentType picks the parser for a response Content-Type:
// delimited MetricFamily protobuf, OpenMetrics text 1.0.0 or 0.0.1 (or with no
// version), and Prometheus text for anything else, including an empty or
// malformed header, as Prometheus falls back to text.
func FormatFromContentType(contentType string) Format {
	f, _ := parseContentType(contentType)
	return f
}

// parseContentType returns FormatFromContentType's answer and whether
// contentType names an exposition format (text/plain, OpenMetrics,
// protobuf, any version) or names nothing at all: a blank header is common
// among simple exporters and says nothing wrong. These are the media types
// Prometheus' textparse.New accepts. The header is parsed once per scrape.
func parseContentType(contentType string) (f Format, exposition bool) {
	if strings.TrimSpace(contentType) == "" {
		return FormatText, true
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return FormatText, false
	}
	switch mediaType {
	case "application/vnd.google.protobuf":
		if params["proto"] == "io.prometheus.client.MetricFamily" && params["encoding"] == "delimited" {
			return FormatProtobuf, true
		}
		return FormatText, true
	case "application/openmetrics-text":
		switch params["version"] {
		case "", "1.0.0", "0.0.1":
			return FormatOpenMetrics, true
		}
		return FormatText, true
	case "text/plain":
		return FormatText, true
	}
	return FormatText, false
}

// ContentTypeError is a scrape whose 2xx answer declared a media type that
// is not an exposition format (text/html from a login or proxy error page,
// application/json from an API) and whose body did not parse as the text
// format either. A mislabelled but valid exposition is still accepted, as
// Prometheus 2 accepts it and Prometheus 3 does with
// fallback_scrape_protocol: PrometheusText0.0.4; only the error names the
// declared type, which says more than the parser's first complaint.
type ContentTypeError struct {
	ContentType string
	Err         error // the parse error
}

func (e *ContentTypeError) Error() string {
	ct := e.ContentType
	if len(ct) > 100 { // the target's text: keep a log line readable
		ct = ct[:100] + "..."
	}
	return fmt.Sprintf("unexpected Content-Type %q, not a metrics exposition (parse as text: %v)", ct, e.Err)
}

func (e *ContentTypeError) Unwrap() error { return e.Err }
