package stdout

import (
	"math"
	"strconv"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks/jsonw"
)

// appendLine appends one sample's JSON line, newline included.
func appendLine(b []byte, s *scrape.Sample) []byte {
	b = append(b, `{"time_ms":`...)
	b = strconv.AppendInt(b, s.TimestampMs, 10)
	b = append(b, `,"name":`...)
	b = jsonw.AppendString(b, s.Name)
	b = append(b, `,"labels":{`...)
	for i, l := range s.Labels.All() { // At reads a compact set from its start
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.AppendString(b, l.Name)
		b = append(b, ':')
		b = jsonw.AppendString(b, l.Value)
	}
	b = append(b, `},"value":`...)
	b = appendFloat(b, s.Value)
	b = append(b, `,"kind":"`...)
	b = append(b, s.Kind.String()...) // fixed lower-case names, nothing to escape
	return append(b, "\"}\n"...)
}

// appendFloat writes a JSON number the way encoding/json does (shortest
// representation, exponent only for very large or small magnitudes), and
// NaN and the infinities as the strings "NaN", "+Inf", "-Inf".
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Inf"`...)
	}
	return jsonw.AppendFloat(b, f)
}
