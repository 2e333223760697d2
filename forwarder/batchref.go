package forwarder

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/promfwd/promfwd/scrape"
)

// Reuse of the parser's []Sample arrays (scrape.BatchPool, one per
// Forwarder, shared by every target). A scrape's samples live in one
// pooled array from the parse until every sink has encoded them; the array
// then goes back to the pool, zeroed, for a later parse. Who reads the
// array, and how each holder is accounted for:
//
//   - The scrape job (scrapeOnce) holds the Result's reference until it
//     returns: metric relabeling, the limits, the series set for staleness
//     (which copies identities), the stale markers and per-target series
//     appended in place, and the delivery to every sink all run within it.
//   - Each part a sink's runner takes (after write relabeling, the sink's
//     stages and dedupe, which may pass views of the array) holds a
//     reference of its own, taken in admitBatch and released by the runner
//     once the chunk holding the part's last samples is encoded, or when
//     the part is dropped (intake full, Submit after Stop). A reload's
//     successor sink (st.next) gets the same reference.
//   - Whoever keeps the samples where no reference tracks them pins the
//     batch, which is then never reused: the source's copy for a max-age
//     reuse (src.last), the target's for a 304 (scrape.Target.prev).
//   - Sinks must not retain the samples after Encode returns (sinks.Sink);
//     stages, dedupe and relabeling copy what they keep.
//
// A reference nobody releases (a runner dropped without Stop, `promfwd
// -once`) only keeps its array from the pool; a second release of one
// reference panics.

// deliverTo is deliver to the given sinks (a retired source's goodbye goes
// to the sinks of the new config: reload_source.go).
func (f *Forwarder) deliverTo(src *source, routes []*sinkState, samples []scrape.Sample) {
	f.deliverBatch(src, routes, samples, nil)
}

// newBatchPool returns the Forwarder's pool of parse arrays, its contents
// exported as promfwd_batch_pool_bytes and _arrays.
func newBatchPool(reg prometheus.Registerer) *scrape.BatchPool {
	p := scrape.NewBatchPool(0, 0)
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "promfwd_batch_pool_bytes",
			Help: "Bytes of parsed-sample arrays held free for reuse by later scrapes.",
		}, func() float64 { return float64(p.Stats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "promfwd_batch_pool_arrays",
			Help: "Parsed-sample arrays held free for reuse by later scrapes.",
		}, func() float64 { return float64(p.Stats().Arrays) }),
	)
	return p
}
