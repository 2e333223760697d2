package status

import (
	"fmt"
	"html/template"
	"strings"
)

// Chart sizes in SVG user units.
const (
	chartW = 240
	chartH = 48
)

// chart renders values as a small inline SVG line chart with its title
// and the latest value: no library, no script, readable offline.
func chart(class, title string, values []float64, last string) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart %s" role="img" width="%d" height="%d" viewBox="0 0 %d %d"><title>%s</title>`,
		class, chartW, chartH+14, chartW, chartH+14, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" class="bg"/>`, chartW, chartH)
	if len(values) > 0 {
		hi := 0.0
		for _, v := range values {
			hi = max(hi, v)
		}
		if hi == 0 {
			hi = 1
		}
		step := float64(chartW)
		if len(values) > 1 {
			step = float64(chartW) / float64(len(values)-1)
		}
		b.WriteString(`<polyline fill="none" points="`)
		for i, v := range values {
			x := float64(i) * step
			if len(values) == 1 {
				x = chartW
			}
			y := float64(chartH) - v/hi*float64(chartH-2) - 1
			fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
		}
		b.WriteString(`"/>`)
	}
	fmt.Fprintf(&b, `<text x="2" y="%d">%s: %s</text></svg>`, chartH+12,
		template.HTMLEscapeString(title), template.HTMLEscapeString(last))
	return template.HTML(b.String()) // every interpolated string is escaped above
}

// sinkCharts are the three charts of a sink: sent rate, queue bytes, drops.
func sinkCharts(pts []Point) []template.HTML {
	sent := make([]float64, len(pts))
	queue := make([]float64, len(pts))
	drops := make([]float64, len(pts))
	for i, p := range pts {
		sent[i], queue[i], drops[i] = p.SentPerSecond, float64(p.QueueBytes), p.Dropped
	}
	lastOf := func(v []float64, f func(float64) string) string {
		if len(v) == 0 {
			return "no data yet"
		}
		return f(v[len(v)-1])
	}
	return []template.HTML{
		chart("chart-sent", "samples/s sent", sent, lastOf(sent, func(v float64) string { return fmt.Sprintf("%.1f/s", v) })),
		chart("chart-queue", "queue bytes", queue, lastOf(queue, func(v float64) string { return bytesHuman(int64(v)) })),
		chart("chart-drops", "samples dropped", drops, lastOf(drops, func(v float64) string { return fmt.Sprintf("%.0f", v) })),
	}
}

// bytesHuman prints n with a binary unit.
func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
