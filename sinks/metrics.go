package sinks

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Drop reasons, the values of the reason label of
// promfwd_sink_dropped_samples_total.
const (
	DropIntakeFull      = "intake_full"     // Runner intake bound (MaxPendingSamples) exceeded
	DropQueueFull       = "queue_full"      // queue byte bound (MaxQueueBytes) exceeded
	DropRejected        = "rejected"        // the destination answered with a permanent error
	DropUnrepresentable = "unrepresentable" // the sink cannot encode the sample (NaN for HEC, an encode error)
	DropShutdown        = "shutdown"        // submitted after Stop, or leftovers discarded at shutdown
	DropCorrupt         = "corrupt"         // stored requests found damaged on disk (CorruptReporter)
	DropNameCollision   = "name_collision"  // the destination's name rules mapped two series onto one
	DropTagCollision    = "tag_collision"   // the destination's tag rules made two series of one request identical
	DropRelabelInvalid  = "relabel_invalid" // the sink's write_relabel_configs merged series or left an invalid one
)

// Request outcomes, the values of the outcome label of
// promfwd_sink_requests_total.
const (
	OutcomeSuccess        = "success"
	OutcomePermanentError = "permanent_error"
	OutcomeFailed         = "failed"
)

// Metrics holds the per-sink self-metrics of every Runner. Counters are
// updated as things happen; gauges (queue, pending, health, last success)
// are read from the runners and Health values when the registry is
// scraped, so the hot path never touches them.
type Metrics struct {
	samplesSent  *prometheus.CounterVec
	requests     *prometheus.CounterVec
	retries      *prometheus.CounterVec
	dropped      *prometheus.CounterVec
	encodeErrors *prometheus.CounterVec
	sentBytes    *prometheus.CounterVec
	duration     *prometheus.HistogramVec

	queueRequests *prometheus.Desc
	queueBytes    *prometheus.Desc
	storedReqs    *prometheus.Desc
	pending       *prometheus.Desc
	oldestAge     *prometheus.Desc
	lastSuccess   *prometheus.Desc
	healthy       *prometheus.Desc
	delivering    *prometheus.Desc

	mu    sync.Mutex
	sinks map[string]*sinkEntry
}

// sinkEntry is what the gauges read for one sink name.
type sinkEntry struct {
	health *Health
	runner *Runner
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered, e.g. in tests). Like promauto, it panics if reg already holds
// metrics of these names.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, append([]string{"sink"}, labels...))
	}
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"sink"}, nil)
	}
	m := &Metrics{
		samplesSent:  counter("promfwd_sink_samples_sent_total", "Samples delivered to the destination."),
		requests:     counter("promfwd_sink_requests_total", "Requests by final outcome of one Send.", "outcome"),
		retries:      counter("promfwd_sink_retries_total", "Retried HTTP attempts."),
		dropped:      counter("promfwd_sink_dropped_samples_total", "Samples dropped, by reason.", "reason"),
		encodeErrors: counter("promfwd_sink_encode_errors_total", "Batches the sink failed to encode."),

		queueRequests: desc("promfwd_sink_queue_requests", "Encoded requests waiting to be sent."),
		sentBytes: counter("promfwd_sink_sent_bytes_total",
			"Request body bytes put on the wire (compressed, as sent), every HTTP attempt counted."),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "promfwd_sink_request_duration_seconds",
			Help:    "Time of one HTTP attempt, from sending the request to the answer's headers (or the error).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"sink"}),

		queueBytes: prometheus.NewDesc("promfwd_sink_queue_bytes",
			"Bytes held by the queue by medium: memory (request bodies in memory; for a disk queue, the part of the disk bytes also cached in memory) and disk (size of the queue files).",
			[]string{"sink", "medium"}, nil),
		storedReqs: prometheus.NewDesc("promfwd_sink_queue_stored_requests",
			"Requests held by the queue by medium: memory (bodies held in memory) and disk (stored on disk, in flight included).",
			[]string{"sink", "medium"}, nil),
		pending:     desc("promfwd_sink_pending_samples", "Samples submitted but not yet encoded."),
		oldestAge:   desc("promfwd_sink_oldest_queued_age_seconds", "Age of the oldest undelivered request (queued or in flight)."),
		lastSuccess: desc("promfwd_sink_last_success_timestamp_seconds", "Unix time of the last delivered request; 0 before the first."),
		healthy:     desc("promfwd_sink_healthy", "1 when the destination accepts our credentials, else 0."),
		delivering: desc("promfwd_sink_delivering",
			"0 when data waited (or was refused) with no successful delivery for the stall time (5m), else 1."),

		sinks: make(map[string]*sinkEntry),
	}
	if reg != nil {
		reg.MustRegister(m.samplesSent, m.requests, m.retries, m.dropped, m.encodeErrors, m.sentBytes, m.duration, m)
	}
	return m
}

// Settings builds the Settings for the sink called name: a logger scoped
// with the sink's name, a Health reported as promfwd_sink_healthy, and an
// OnRetry that counts promfwd_sink_retries_total. The forwarder passes the
// result both to the sink's constructor and to NewRunner.
func (m *Metrics) Settings(name string, logger *zap.Logger, userAgent string) Settings {
	if logger == nil {
		logger = zap.NewNop()
	}
	h := NewHealth(nil)
	m.mu.Lock()
	m.entryLocked(name).health = h
	m.mu.Unlock()
	retries := m.retries.WithLabelValues(name)
	sent := m.sentBytes.WithLabelValues(name)
	dur := m.duration.WithLabelValues(name)
	return Settings{
		Name:      name,
		Logger:    logger.With(zap.String("sink", name)),
		UserAgent: userAgent,
		Health:    h,
		OnRetry:   retries.Inc,
		OnAttempt: func(d time.Duration, bytes int64) {
			sent.Add(float64(bytes))
			dur.Observe(d.Seconds())
		},
	}
}

func (m *Metrics) entryLocked(name string) *sinkEntry {
	e := m.sinks[name]
	if e == nil {
		e = &sinkEntry{}
		m.sinks[name] = e
	}
	return e
}

// attach makes the gauges of name read r (replacing an earlier runner of
// the same name, as after a reload).
func (m *Metrics) attach(name string, h *Health, r *Runner) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entryLocked(name)
	e.runner = r
	if h != nil {
		e.health = h
	}
}

// detach removes name's gauges if they still belong to r.
func (m *Metrics) detach(name string, r *Runner) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.sinks[name]; e != nil && e.runner == r {
		delete(m.sinks, name)
	}
}

// CountDropped counts n samples the forwarder dropped on their way to the
// named sink, before its runner saw them (reason DropRelabelInvalid).
func (m *Metrics) CountDropped(sink, reason string, n int) {
	m.dropped.WithLabelValues(sink, reason).Add(float64(n))
}

// Describe implements prometheus.Collector for the gauges.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.queueRequests, m.queueBytes, m.storedReqs, m.pending, m.oldestAge, m.lastSuccess, m.healthy, m.delivering} {
		ch <- d
	}
}

// Collect implements prometheus.Collector for the gauges.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	type snap struct {
		name   string
		health *Health
		runner *Runner
	}
	m.mu.Lock()
	all := make([]snap, 0, len(m.sinks))
	for name, e := range m.sinks {
		all = append(all, snap{name, e.health, e.runner})
	}
	m.mu.Unlock()
	for _, s := range all {
		healthy := 1.0
		if s.health != nil {
			if ok, _, _ := s.health.Status(); !ok {
				healthy = 0
			}
		}
		ch <- prometheus.MustNewConstMetric(m.healthy, prometheus.GaugeValue, healthy, s.name)
		if s.runner == nil {
			continue
		}
		st := s.runner.Stats()
		ch <- prometheus.MustNewConstMetric(m.queueRequests, prometheus.GaugeValue, float64(st.QueuedRequests), s.name)
		ch <- prometheus.MustNewConstMetric(m.storedReqs, prometheus.GaugeValue, float64(st.MemoryRequests), s.name, "memory")
		ch <- prometheus.MustNewConstMetric(m.storedReqs, prometheus.GaugeValue, float64(st.DiskRequests), s.name, "disk")
		ch <- prometheus.MustNewConstMetric(m.queueBytes, prometheus.GaugeValue, float64(st.MemoryBytes), s.name, "memory")
		ch <- prometheus.MustNewConstMetric(m.queueBytes, prometheus.GaugeValue, float64(st.DiskBytes), s.name, "disk")
		ch <- prometheus.MustNewConstMetric(m.pending, prometheus.GaugeValue, float64(st.PendingSamples), s.name)
		ch <- prometheus.MustNewConstMetric(m.oldestAge, prometheus.GaugeValue, st.OldestQueuedAge.Seconds(), s.name)
		last := 0.0
		if !st.LastSuccess.IsZero() {
			last = float64(st.LastSuccess.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(m.lastSuccess, prometheus.GaugeValue, last, s.name)
		delivering := 0.0
		if s.runner.Delivering() {
			delivering = 1
		}
		ch <- prometheus.MustNewConstMetric(m.delivering, prometheus.GaugeValue, delivering, s.name)
	}
}

// sinkCounters are one sink's counter children, resolved once so the hot
// path does no label lookups.
type sinkCounters struct {
	sent                                            prometheus.Counter
	success, permanent, failed                      prometheus.Counter
	intakeFull, queueFull, rejected, unrepr, shutdn prometheus.Counter
	corrupt                                         prometheus.Counter
	nameCollision, tagCollision                     prometheus.Counter
	encodeErrors                                    prometheus.Counter
	retries                                         prometheus.Counter
}

func (m *Metrics) counters(name string) sinkCounters {
	m.retries.WithLabelValues(name) // exported as 0 before the first retry
	m.sentBytes.WithLabelValues(name)
	return sinkCounters{
		retries:       m.retries.WithLabelValues(name), // exported as 0 before the first retry
		sent:          m.samplesSent.WithLabelValues(name),
		success:       m.requests.WithLabelValues(name, OutcomeSuccess),
		permanent:     m.requests.WithLabelValues(name, OutcomePermanentError),
		failed:        m.requests.WithLabelValues(name, OutcomeFailed),
		intakeFull:    m.dropped.WithLabelValues(name, DropIntakeFull),
		queueFull:     m.dropped.WithLabelValues(name, DropQueueFull),
		rejected:      m.dropped.WithLabelValues(name, DropRejected),
		unrepr:        m.dropped.WithLabelValues(name, DropUnrepresentable),
		shutdn:        m.dropped.WithLabelValues(name, DropShutdown),
		corrupt:       m.dropped.WithLabelValues(name, DropCorrupt),
		encodeErrors:  m.encodeErrors.WithLabelValues(name),
		nameCollision: m.dropped.WithLabelValues(name, DropNameCollision),
		tagCollision:  m.dropped.WithLabelValues(name, DropTagCollision),
	}
}
