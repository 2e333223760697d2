package forwarder

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// sourceMetrics are the per-source self-metrics. Sink metrics live in
// sinks.Metrics; both register on the forwarder's own registry (no globals).
type sourceMetrics struct {
	scrapes          *prometheus.CounterVec
	errors           *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	samples          *prometheus.CounterVec
	bytes            *prometheus.CounterVec
	unchanged        *prometheus.CounterVec
	skippedUnchanged *prometheus.CounterVec
	filtered         *prometheus.CounterVec
	sinkFiltered     *prometheus.CounterVec // selfmetrics_dropped.go
	dropped          *prometheus.CounterVec // selfmetrics_dropped.go
	staleMarkers     *prometheus.CounterVec
	up               *prometheus.GaugeVec
	lastSamples      *prometheus.GaugeVec
}

func newSourceMetrics(reg prometheus.Registerer) *sourceMetrics {
	m := &sourceMetrics{
		scrapes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promfwd_source_scrapes_total", Help: "Scrapes attempted per source.",
		}, []string{"source"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promfwd_source_scrape_errors_total", Help: "Failed scrapes per source, by reason.",
		}, []string{"source", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "promfwd_source_scrape_duration_seconds",
			Help:    "Time to fetch and parse one scrape.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"source"}),
		samples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promfwd_source_samples_scraped_total", Help: "Samples parsed per source, after metric_relabel_configs.",
		}, []string{"source"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promfwd_source_bytes_total", Help: "Exposition bytes read per source (decompressed).",
		}, []string{"source"}),
		unchanged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promfwd_source_unchanged_scrapes_total", Help: "Scrapes answered 304 or with a byte-identical body, so nothing was parsed.",
		}, []string{"source"}),
		skippedUnchanged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promfwd_sink_samples_skipped_unchanged_total", Help: "Samples not sent to a sink because their value was unchanged and sent less than resend_after ago.",
		}, []string{"source", "sink"}),
		filtered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promfwd_source_samples_filtered_total", Help: "Samples dropped by the source's metric_relabel_configs.",
		}, []string{"source"}),
		dropped:      newDroppedVec(),
		sinkFiltered: newSinkFilteredVec(),
		staleMarkers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promfwd_source_stale_markers_total", Help: "Stale markers emitted for series that disappeared or whose target went down.",
		}, []string{"source"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "promfwd_source_up", Help: "1 if the last scrape of the source succeeded.",
		}, []string{"source"}),
		lastSamples: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "promfwd_source_last_scrape_samples", Help: "Samples in the last successful scrape.",
		}, []string{"source"}),
	}
	for _, v := range m.vecs() {
		reg.MustRegister(v)
	}
	return m
}

// sourceVec is what every per-source metric vector offers.
type sourceVec interface {
	prometheus.Collector
	DeletePartialMatch(prometheus.Labels) int
}

// vecs lists every per-source metric, for registering and forgetting.
func (m *sourceMetrics) vecs() []sourceVec {
	return []sourceVec{m.scrapes, m.errors, m.duration, m.samples, m.bytes, m.unchanged,
		m.skippedUnchanged, m.filtered, m.sinkFiltered, m.dropped, m.staleMarkers, m.up, m.lastSamples}
}

// forget drops the self-metric series of a target that is gone for good,
// so file_sd churn does not grow them without bound.
func (m *sourceMetrics) forget(source string) {
	l := prometheus.Labels{"source": source}
	for _, v := range m.vecs() {
		v.DeletePartialMatch(l)
	}
}

// newRegistry builds the self-metrics registry with the process and Go
// runtime collectors a Prometheus user expects.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	return reg
}
