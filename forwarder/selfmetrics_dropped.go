package forwarder

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/promfwd/promfwd/scrape"
)

// newDroppedVec is promfwd_samples_dropped_total{source,reason}: samples a
// scrape parsed but left out, as Prometheus' scrape leaves them out
// (reason duplicate, out_of_order, out_of_bounds; see scrape.Dropped), or
// that metric_relabel_configs left invalid (relabel_invalid).
func newDroppedVec() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "promfwd_samples_dropped_total",
		Help: "Samples of a scrape left out as Prometheus leaves them out: a series repeated in one exposition (duplicate, out_of_order), an out-of-range timestamp (out_of_bounds), or left by metric_relabel_configs without a name, with an invalid label name or merged into an earlier series (relabel_invalid).",
	}, []string{"source", "reason"})
}

// countDropped adds one scrape's dropped samples.
func (m *sourceMetrics) countDropped(source string, d scrape.Dropped) {
	for _, r := range [...]struct {
		reason string
		n      int
	}{{"duplicate", d.Duplicate}, {"out_of_order", d.OutOfOrder}, {"out_of_bounds", d.OutOfBounds}} {
		if r.n > 0 {
			m.dropped.WithLabelValues(source, r.reason).Add(float64(r.n))
		}
	}
}

// newSinkFilteredVec is promfwd_sink_samples_filtered_total{source,sink}:
// samples a sink's write_relabel_configs removed as configured (keep, drop,
// keepequal, dropequal), the per-sink twin of
// promfwd_source_samples_filtered_total. Not a loss, so not under
// promfwd_sink_dropped_samples_total.
func newSinkFilteredVec() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "promfwd_sink_samples_filtered_total",
		Help: "Samples of a source removed by a sink's write_relabel_configs, as configured.",
	}, []string{"source", "sink"})
}
