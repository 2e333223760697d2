package sinktest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/promfwd/promfwd/scrape"
)

// Reparse returns samples as the scraper delivers them: rendered as a
// Prometheus text exposition (a # TYPE line where a family with Meta
// starts, explicit timestamps) and parsed by a fresh scrape.Parser with
// target labels tl. Encoder benchmarks and tests use it so that encoders
// read the parser's compact label sets, the production case, and not only
// hand-built plain ones. The result has the parser's normal forms: labels
// that clash with tl are renamed exported_<name>, le and quantile values
// are in float form, empty values are gone.
func Reparse(tb testing.TB, samples []scrape.Sample, tl scrape.Labels) []scrape.Sample {
	tb.Helper()
	var b strings.Builder
	var meta *scrape.Meta
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	for i := range samples {
		s := &samples[i]
		if s.Meta != nil && s.Meta != meta {
			meta = s.Meta
			b.WriteString("# TYPE ")
			b.WriteString(quoteName(meta.Family, true))
			b.WriteByte(' ')
			b.WriteString(meta.Type.String())
			b.WriteByte('\n')
		}
		n := quoteName(s.Name, true)
		if n != s.Name {
			// a UTF-8 metric name goes inside the braces, first
			b.WriteByte('{')
			b.WriteString(n)
			if s.Labels.Len() > 0 {
				b.WriteByte(',')
			}
		} else {
			b.WriteString(n)
			b.WriteByte('{')
		}
		for j, l := range s.Labels.All() {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quoteName(l.Name, false))
			b.WriteString(`="`)
			b.WriteString(esc.Replace(l.Value))
			b.WriteByte('"')
		}
		b.WriteString("} ")
		b.WriteString(strconv.FormatFloat(s.Value, 'g', -1, 64))
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(s.TimestampMs, 10))
		b.WriteByte('\n')
	}
	out, err := scrape.NewParser().Parse(scrape.FormatText, []byte(b.String()), scrape.ParseOptions{TargetLabels: tl})
	if err != nil {
		tb.Fatalf("sinktest: reparse: %v", err)
	}
	return out
}

// quoteName returns a legacy name as it is and any other quoted (the
// text format's UTF-8 name syntax).
func quoteName(n string, colonOK bool) string {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c == '_' || colonOK && c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return quoteValue(n)
		}
	}
	return n
}

// quoteValue quotes a label value with the text format's three escapes
// only; other bytes (invalid UTF-8 included) are written as they are.
func quoteValue(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}
