package hectest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// Event is one metric event as the receiver decoded it.
type Event struct {
	// Time is the event's `time` in epoch seconds; HasTime is false when
	// the event carried none.
	Time    float64
	HasTime bool
	Host    string
	Source  string
	// SourceType is the `sourcetype` key.
	SourceType string
	Index      string
	// Channel is the request's X-Splunk-Request-Channel ("" if none).
	Channel string
	// Metrics holds the measurements, sorted by name: one for a
	// single-metric event (metric_name/_value), several for multi-metric.
	Metrics []Metric
	// Multi is true for the multi-metric form ("metric_name:<name>" keys).
	Multi bool
	// Dimensions are the remaining fields.
	Dimensions map[string]string
}

// Metric is one measurement of an event.
type Metric struct {
	Name  string
	Value float64
}

// Point is one measurement with its event's identity, flattened for comparisons.
type Point struct {
	Name       string
	Value      float64
	TimeMs     int64 // Time rounded to milliseconds
	Dimensions map[string]string
	Host       string
	Source     string
	SourceType string
	Index      string
}

// Points flattens events into one Point per measurement.
func Points(events []Event) []Point {
	var out []Point
	for _, e := range events {
		for _, m := range e.Metrics {
			out = append(out, Point{
				Name: m.Name, Value: m.Value, TimeMs: int64(math.Round(e.Time * 1000)),
				Dimensions: e.Dimensions, Host: e.Host, Source: e.Source, SourceType: e.SourceType, Index: e.Index,
			})
		}
	}
	return out
}

// rejection is a validation failure answered with HEC's code table.
type rejection struct {
	code  int
	text  string
	event int // invalid-event-number, -1 when not about one event
}

func (r *rejection) Error() string { return fmt.Sprintf("code %d: %s", r.code, r.text) }

func invalid(event int, format string, args ...any) *rejection {
	return &rejection{code: CodeInvalidDataFormat, text: "Invalid data format: " + fmt.Sprintf(format, args...), event: event}
}

// maxSeconds rejects timestamps that are really milliseconds (year 5138+).
const maxSeconds = 1e11

var topLevel = []string{"time", "event", "host", "source", "sourcetype", "index", "fields"}

// decodeEvents parses concatenated JSON event objects (with or without
// whitespace between them) and validates each as a metric event.
func decodeEvents(body []byte, indexes []string, channel string) ([]Event, *rejection) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &rejection{code: CodeNoData, text: "No data", event: -1}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var events []Event
	for n := 0; ; n++ {
		var raw map[string]any
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return events, nil
		}
		if err != nil {
			return nil, invalid(n, "%v", err)
		}
		if raw == nil {
			return nil, invalid(n, "event is not an object")
		}
		ev, rej := validateEvent(n, raw, indexes)
		if rej != nil {
			return nil, rej
		}
		ev.Channel = channel
		events = append(events, ev)
	}
}

func validateEvent(n int, raw map[string]any, indexes []string) (Event, *rejection) {
	var ev Event
	for k := range raw {
		if !slices.Contains(topLevel, k) {
			return ev, invalid(n, "unexpected top-level key %q", k)
		}
	}
	switch e, ok := raw["event"]; {
	case !ok:
		return ev, &rejection{code: CodeEventFieldRequired, text: "Event field is required", event: n}
	case e == "":
		return ev, &rejection{code: CodeEventFieldBlank, text: "Event field cannot be blank", event: n}
	case e != "metric":
		return ev, invalid(n, `event must be "metric", got %v`, e)
	}
	if t, ok := raw["time"]; ok {
		num, isNum := t.(json.Number)
		if !isNum {
			return ev, invalid(n, "time must be a number of seconds, got %T", t)
		}
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil || f < 0 || f >= maxSeconds {
			return ev, invalid(n, "time %s is not epoch seconds", num)
		}
		ev.Time, ev.HasTime = f, true
	}
	for _, kv := range []struct {
		key string
		dst *string
	}{{"host", &ev.Host}, {"source", &ev.Source}, {"sourcetype", &ev.SourceType}, {"index", &ev.Index}} {
		v, ok := raw[kv.key]
		if !ok {
			continue
		}
		s, isStr := v.(string)
		if !isStr || s == "" {
			return ev, invalid(n, "%s must be a non-empty string", kv.key)
		}
		*kv.dst = s
	}
	if len(indexes) > 0 && !slices.Contains(indexes, ev.Index) {
		return ev, &rejection{code: CodeIncorrectIndex, text: "Incorrect index", event: n}
	}
	fields, ok := raw["fields"].(map[string]any)
	if !ok {
		return ev, invalid(n, "fields must be an object")
	}
	if rej := validateFields(n, fields, &ev); rej != nil {
		return ev, rej
	}
	return ev, nil
}

func validateFields(n int, fields map[string]any, ev *Event) *rejection {
	ev.Dimensions = map[string]string{}
	name, hasName := fields["metric_name"]
	_, hasValue := fields["_value"]
	for k, v := range fields {
		switch {
		case k == "metric_name" || k == "_value":
		case strings.HasPrefix(k, "metric_name:"):
			mn := strings.TrimPrefix(k, "metric_name:")
			if rej := checkMetricName(n, mn); rej != nil {
				return rej
			}
			f, rej := number(n, k, v)
			if rej != nil {
				return rej
			}
			ev.Metrics = append(ev.Metrics, Metric{Name: mn, Value: f})
			ev.Multi = true
		case k == "" || k[0] == '_':
			return invalid(n, "dimension name %q is reserved", k)
		default:
			s, isStr := v.(string)
			if !isStr {
				return invalid(n, "dimension %q must be a string, got %T", k, v)
			}
			ev.Dimensions[k] = s
		}
	}
	switch {
	case hasName && ev.Multi:
		return invalid(n, "metric_name mixed with metric_name:<name> fields")
	case ev.Multi && hasValue:
		return invalid(n, "_value in a multi-metric event")
	case hasName:
		s, isStr := name.(string)
		if !isStr || s == "" {
			return invalid(n, "metric_name must be a non-empty string")
		}
		if rej := checkMetricName(n, s); rej != nil {
			return rej
		}
		if !hasValue {
			return invalid(n, "_value is required")
		}
		f, rej := number(n, "_value", fields["_value"])
		if rej != nil {
			return rej
		}
		ev.Metrics = []Metric{{Name: s, Value: f}}
	case !ev.Multi:
		return invalid(n, "metric_name is required")
	}
	slices.SortFunc(ev.Metrics, func(a, b Metric) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// checkMetricName applies Splunk's metric name rules: letters, digits,
// '_', '.' and ':' only; not starting with '_' or a digit; not containing
// the reserved word "metric_name". Splunk itself drops such a measurement
// silently; the receiver rejects the request so that tests notice.
func checkMetricName(n int, name string) *rejection {
	switch {
	case name == "":
		return invalid(n, "empty metric name")
	case name[0] == '_' || (name[0] >= '0' && name[0] <= '9'):
		return invalid(n, "metric name %q starts with %q", name, name[0])
	case strings.Contains(name, "metric_name"):
		return invalid(n, "metric name %q contains the reserved word metric_name", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':') {
			return invalid(n, "metric name %q has invalid character %q", name, c)
		}
	}
	return nil
}

// number accepts only JSON numbers that are finite float64s.
func number(n int, key string, v any) (float64, *rejection) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, invalid(n, "%s must be a number, got %T", key, v)
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, invalid(n, "%s=%s is not a finite number", key, num)
	}
	return f, nil
}

// decodeBody undoes Content-Encoding, refusing gzip bytes sent as identity.
func decodeBody(encoding string, raw []byte) ([]byte, *rejection) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		if len(raw) > 1 && raw[0] == 0x1f && raw[1] == 0x8b {
			return nil, invalid(-1, "gzip body without Content-Encoding: gzip")
		}
		return raw, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, invalid(-1, "gzip: %v", err)
		}
		body, err := io.ReadAll(io.LimitReader(zr, maxDecompressed+1))
		if err != nil {
			return nil, invalid(-1, "gzip: %v", err)
		}
		if len(body) > maxDecompressed {
			return nil, invalid(-1, "decompressed body exceeds %d bytes", maxDecompressed)
		}
		return body, nil
	}
	return nil, invalid(-1, "unsupported Content-Encoding %q", encoding)
}
