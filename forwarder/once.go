package forwarder

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/stdout"
)

// Once scrapes every source once and writes to w, for each sink (or only the
// sink named only), a summary of what the sink would receive after relabel,
// dedupe and encoding (requests, wire bytes, unrepresentable samples) and the
// samples themselves as JSON lines. Nothing is sent anywhere. It returns an
// error if a source failed or only names no sink.
func (f *Forwarder) Once(ctx context.Context, w io.Writer, only string) error {
	defer f.closeAll()
	if only != "" {
		if _, ok := f.sinks[only]; !ok {
			return fmt.Errorf("once: no sink named %q", only)
		}
	}
	lines, err := stdout.New(stdout.Config{Writer: w}, sinks.Settings{Name: "once"})
	if err != nil {
		return fmt.Errorf("once: %w", err)
	}
	names := make([]string, 0, len(f.sources))
	for n := range f.sources {
		names = append(names, n)
	}
	sort.Strings(names)
	var failed []string
	for _, n := range names {
		src := f.sources[n].src
		res := src.target.Scrape(ctx, f.clock.Now())
		if res.Err != nil {
			fmt.Fprintf(w, "# source %s: scrape failed: %v\n", n, res.Err)
			failed = append(failed, n)
			continue
		}
		samples, filtered := src.keep.apply(res.Samples)
		fmt.Fprintf(w, "# source %s: %d samples (%d filtered by metric_relabel), %d bytes in %s\n",
			n, len(samples), filtered, res.Bytes, res.Duration.Round(1e6))
		if d := res.Dropped; d.Total() > 0 {
			fmt.Fprintf(w, "# source %s: %d samples dropped as Prometheus drops them (%d duplicate, %d out of order, %d timestamp out of bounds)\n",
				n, d.Total(), d.Duplicate, d.OutOfOrder, d.OutOfBounds)
		}
		for _, st := range src.routes() {
			if only != "" && st.name != only {
				continue
			}
			if err := f.showSink(ctx, w, lines, st, samples); err != nil {
				return err
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("once: %d source(s) failed: %v", len(failed), failed)
	}
	return nil
}

func (f *Forwarder) showSink(ctx context.Context, w io.Writer, lines *stdout.Sink, st *sinkState, samples []scrape.Sample) error {
	samples = st.showAggregates(w, samples) // aggregate_once.go
	out, skipped := st.dedupe.Filter(samples)
	enc, err := st.sink.Encode(out)
	if err != nil {
		return fmt.Errorf("once: sink %s: encode: %w", st.name, err)
	}
	bytes := 0
	for _, r := range enc.Requests {
		bytes += len(r.Body)
	}
	fmt.Fprintf(w, "# sink %s (%s): %d samples (%d unchanged skipped, %d unrepresentable) -> %d request(s), %d bytes on the wire\n",
		st.name, st.cfg.Type, len(out), skipped, enc.Dropped, len(enc.Requests), bytes)
	shown, err := lines.Encode(out)
	if err != nil {
		return fmt.Errorf("once: render: %w", err)
	}
	for _, r := range shown.Requests {
		if err := lines.Send(ctx, r); err != nil {
			return fmt.Errorf("once: write: %w", err)
		}
	}
	return nil
}
