package forwarder

import (
	"context"
	"encoding/binary"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/forwarder/transform"
	"github.com/promfwd/promfwd/forwarder/transform/aggregate"
	"github.com/promfwd/promfwd/scrape"
)

// aggregateTick is how often open aggregation windows are checked for
// their end (so a window is flushed within this long of end+max_lateness
// even when no scrape comes).
const aggregateTick = time.Second

// sinkStages is a sink's per-sink transform chain (DESIGN.md's data order:
// write_relabel_configs, then aggregate, then dedupe). It is itself a
// transform.Stage: the checkpoint snapshots the whole chain. Apply runs
// under the sink's admission gate (shared: several sources' scrapes may
// admit at once, hence mu), Snapshot under the gate held exclusively.
type sinkStages struct {
	mu    sync.Mutex
	chain []transform.Stage
	agg   *aggregate.Aggregator // the aggregation stage, also in chain
	now   func() time.Time
}

// newSinkStages builds sc's chain; nil when the sink has no stage.
func (f *Forwarder) newSinkStages(sc config.SinkConfig, cfg *config.Config) (*sinkStages, error) {
	var chain []transform.Stage
	// write_relabel_configs ran before this (deliver, pipeline.go), per source.
	var agg *aggregate.Aggregator
	if len(sc.Aggregate) > 0 {
		log := f.log.With(zap.String("sink", sc.Name))
		a, err := aggregate.New(sc.Aggregate, aggregate.Options{
			MaxLateness: sinkLateness(sc.Name, cfg),
			Observer:    f.am.observer(sc.Name, len(sc.Aggregate)),
			Warn: func(rule int, msg string) {
				log.Warn("aggregate: "+msg, zap.Int("rule", rule), zap.String("match", sc.Aggregate[rule].Match))
			},
		})
		if err != nil {
			return nil, err
		}
		agg = a
		chain = append(chain, a)
	}
	if len(chain) == 0 {
		return nil, nil
	}
	return &sinkStages{chain: chain, agg: agg, now: f.clock.Now}, nil
}

// sinkLateness is the default max_lateness of a sink's rules: the longest
// interval of the sources that feed it.
func sinkLateness(sink string, cfg *config.Config) time.Duration {
	var d time.Duration
	for _, s := range cfg.Sources {
		feeds := len(s.Sinks) == 0
		for _, n := range s.Sinks {
			feeds = feeds || n == sink
		}
		if feeds {
			d = max(d, s.Interval)
		}
	}
	return d
}

// apply runs the chain over one admission. A nil chain passes samples.
func (c *sinkStages) apply(in []scrape.Sample) []scrape.Sample {
	if c == nil {
		return in
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Apply(in, c.now().UnixMilli())
}

// Apply runs every stage in order (mu held by apply).
func (c *sinkStages) Apply(in []scrape.Sample, nowMs int64) []scrape.Sample {
	for _, s := range c.chain {
		in = s.Apply(in, nowMs)
	}
	return in
}

// Snapshot is each stage's snapshot, length-prefixed, in chain order.
func (c *sinkStages) Snapshot() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b []byte
	b = binary.AppendUvarint(b, uint64(len(c.chain)))
	for _, s := range c.chain {
		snap := s.Snapshot()
		b = binary.AppendUvarint(b, uint64(len(snap)))
		b = append(b, snap...)
	}
	return b
}

// Restore gives each stage its section; a chain of another length (the
// config changed) restores nothing.
func (c *sinkStages) Restore(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n != uint64(len(c.chain)) {
		return transform.ErrBadSnapshot
	}
	b = b[k:]
	for _, s := range c.chain {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return transform.ErrBadSnapshot
		}
		if err := s.Restore(b[k : k+int(l)]); err != nil {
			return err
		}
		b = b[k+int(l):]
	}
	return nil
}

// stage is c as a transform.Stage for the checkpoint: nil (not a typed
// nil) without a chain.
func (c *sinkStages) stage() transform.Stage {
	if c == nil {
		return nil
	}
	return c
}

// flushAll returns every open window's outputs (shutdown without data_dir).
func (c *sinkStages) flushAll() []scrape.Sample {
	if c == nil || c.agg == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.agg.FlushAll()
}

// finalFlush emits a sink's open aggregation windows before its runner
// stops, when there is no checkpoint to keep them in (without data_dir).
func (st *sinkState) finalFlush() {
	if st.stages == nil || st.durable != nil {
		return
	}
	if out, _ := st.dedupe.Filter(st.stages.flushAll()); len(out) > 0 {
		st.runner.Submit(out)
	}
}

// syncAggregateTickLocked runs the job that flushes due windows of every
// aggregating sink when no scrape arrives to do it, while some sink
// aggregates, and stops it when none does: it would otherwise wake an idle
// process every second for nothing (README, "Memory"). Run and every
// reload call it with f.mu held.
func (f *Forwarder) syncAggregateTickLocked() {
	need := len(f.aggregatingLocked()) > 0
	switch {
	case need && f.aggTick == nil:
		f.aggTick = f.sched.add("aggregate-tick", aggregateTick, 0, f.flushDueWindows)
	case !need && f.aggTick != nil:
		f.aggTick.remove()
		f.aggTick = nil
	}
}

// aggregatingLocked returns the sinks with an aggregation stage; f.mu held.
func (f *Forwarder) aggregatingLocked() []*sinkState {
	var out []*sinkState
	for _, st := range f.sinks {
		if st.aggregates() {
			out = append(out, st)
		}
	}
	return out
}

// aggregates reports whether st has an aggregation stage.
func (st *sinkState) aggregates() bool { return st.stages != nil && st.stages.agg != nil }

// flushDueWindows admits nothing to every aggregating sink, which emits
// the aggregation windows that are due.
func (f *Forwarder) flushDueWindows(context.Context) {
	f.mu.Lock()
	due := f.aggregatingLocked()
	f.mu.Unlock()
	for _, st := range due {
		if offered, skipped := st.admit(nil); offered > 0 {
			f.feed.counted(st.name, offered, skipped) // status_feed.go
		}
	}
}

// aggMetricVecs are the per-rule aggregation self-metrics.
type aggMetricVecs struct {
	input   *prometheus.CounterVec
	series  *prometheus.GaugeVec
	dropped *prometheus.CounterVec
	flush   *prometheus.HistogramVec
}

func newAggMetrics(reg prometheus.Registerer) *aggMetricVecs {
	m := &aggMetricVecs{
		input: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promfwd_aggregate_input_samples_total", Help: "Samples matched by an aggregation rule (rule: its index in the sink's aggregate list).",
		}, []string{"sink", "rule"}),
		series: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "promfwd_aggregate_output_series", Help: "Output series an aggregation rule holds (groups x outputs).",
		}, []string{"sink", "rule"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promfwd_aggregate_samples_dropped_total", Help: "Matched samples an aggregation rule could not use, by reason (too_old, out_of_order, max_output_series, summary_quantile).",
		}, []string{"sink", "rule", "reason"}),
		flush: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "promfwd_aggregate_flush_duration_seconds", Help: "Time to emit one rule's due windows.",
			Buckets: []float64{.0001, .001, .01, .1, 1},
		}, []string{"sink", "rule"}),
	}
	reg.MustRegister(m.input, m.series, m.dropped, m.flush)
	return m
}

// aggObserver is one sink's aggregate.Observer.
type aggObserver struct {
	m     *aggMetricVecs
	sink  string
	input []prometheus.Counter
}

func (m *aggMetricVecs) observer(sink string, rules int) *aggObserver {
	o := &aggObserver{m: m, sink: sink}
	for i := range rules {
		o.input = append(o.input, m.input.WithLabelValues(sink, strconv.Itoa(i)))
		m.series.WithLabelValues(sink, strconv.Itoa(i)).Set(0)
	}
	return o
}

func (o *aggObserver) Input(rule, n int) { o.input[rule].Add(float64(n)) }
func (o *aggObserver) Dropped(rule int, reason string, n int) {
	o.m.dropped.WithLabelValues(o.sink, strconv.Itoa(rule), reason).Add(float64(n))
}
func (o *aggObserver) OutputSeries(rule, n int) {
	o.m.series.WithLabelValues(o.sink, strconv.Itoa(rule)).Set(float64(n))
}
func (o *aggObserver) Flushed(rule int, d time.Duration) {
	o.m.flush.WithLabelValues(o.sink, strconv.Itoa(rule)).Observe(d.Seconds())
}
