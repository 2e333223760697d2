package forwarder

import (
	"fmt"
	"io"
	"slices"

	"github.com/promfwd/promfwd/scrape"
)

// showAggregates runs `promfwd once`'s samples through the sink's chain and
// closes every open window at once, so the sink's aggregated series show,
// with a note on what one scrape can tell.
func (st *sinkState) showAggregates(w io.Writer, samples []scrape.Sample) []scrape.Sample {
	if !st.aggregates() {
		return samples
	}
	passed := st.stages.apply(samples)
	out := append(slices.Clone(passed), st.stages.flushAll()...)
	fmt.Fprintf(w, "# sink %s: %d aggregation rule(s): %d samples in, %d passed through, %d aggregated series shown as if their window ended now."+
		" One scrape is each series' first sample, its counter baseline: total, increase and rate_sum show 0 here and count once a second scrape comes; sum, min, max, avg, last, count_* and quantiles show this scrape's values.\n",
		st.name, len(st.cfg.Aggregate), len(samples), len(passed), len(out)-len(passed))
	return out
}
