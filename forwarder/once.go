package forwarder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/promfwd/promfwd/forwarder/transform/relabel"
	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/stdout"
)

// Once scrapes every source once and writes to w the samples after each
// stage, as JSON lines under a "#" header: the scrape, the source's
// metric_relabel_configs (and the per-target series), and for each sink (or
// only the sink named only) its write_relabel_configs, then a summary of
// what the sink would receive after dedupe and encoding (requests, wire
// bytes, unrepresentable samples) and those samples. Nothing is sent
// anywhere. It returns an error if a source failed or only names no sink.
func (f *Forwarder) Once(ctx context.Context, w io.Writer, only string) error {
	defer f.closeAll()
	if only != "" {
		if _, ok := f.sinks[only]; !ok {
			names := make([]string, 0, len(f.sinks))
			for n := range f.sinks {
				names = append(names, n)
			}
			sort.Strings(names)
			return fmt.Errorf("no sink named %q (defined sinks: %s)", only, strings.Join(names, ", "))
		}
	}
	f.discoverOnce(ctx) // sd_once.go
	lines, err := stdout.New(stdout.Config{Writer: w}, sinks.Settings{Name: "once"})
	if err != nil {
		return fmt.Errorf("stdout renderer: %w", err)
	}
	names := make([]string, 0, len(f.sources))
	for n := range f.sources {
		names = append(names, n)
	}
	sort.Strings(names)
	var failed []string
	for _, n := range names {
		src := f.sources[n].src
		// The samples before metric relabeling are shown too, so the
		// rules run after the parse here (pipeline.go's protobuf path).
		src.target.SetRewriter(nil)
		res := src.target.Scrape(ctx, f.clock.Now())
		if err := f.onceSource(ctx, w, lines, src, res, only); err != nil {
			if errors.Is(err, errOnceSource) {
				failed = append(failed, n)
				continue
			}
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d source(s) failed: %v", len(failed), failed)
	}
	return nil
}

func (f *Forwarder) showSink(ctx context.Context, w io.Writer, lines *stdout.Sink, st *sinkState, samples []scrape.Sample) error {
	samples = st.showAggregates(w, samples) // aggregate_once.go
	out, skipped := st.dedupe.Filter(samples)
	enc, err := st.sink.Encode(out)
	if err != nil {
		return fmt.Errorf("sink %s: encode: %w", st.name, err)
	}
	bytes := 0
	for _, r := range enc.Requests {
		bytes += len(r.Body)
	}
	fmt.Fprintf(w, "# sink %s (%s): %d samples (%d unchanged skipped, %d unrepresentable) -> %d request(s), %d bytes on the wire\n",
		st.name, st.cfg.Type, len(out), skipped, enc.Dropped, len(enc.Requests), bytes)
	return showSamples(ctx, lines, out)
}

// errOnceSource marks a source whose scrape failed (reported, not fatal).
var errOnceSource = errors.New("source failed")

// onceSource shows one source's scrape through every stage.
func (f *Forwarder) onceSource(ctx context.Context, w io.Writer, lines *stdout.Sink, src *source, res scrape.Result, only string) error {
	n := src.name
	if res.Err != nil {
		fmt.Fprintf(w, "# source %s: scrape failed: %v\n", n, res.Err)
		return errOnceSource
	}
	fmt.Fprintf(w, "# source %s: scrape: %d samples, %d bytes in %s\n", n, len(res.Samples), res.Bytes, res.Duration.Round(1e6))
	if d := res.Dropped; d.Total() > 0 {
		fmt.Fprintf(w, "# source %s: %d samples dropped as Prometheus drops them (%d duplicate, %d out of order, %d timestamp out of bounds)\n",
			n, d.Total(), d.Duplicate, d.OutOfOrder, d.OutOfBounds)
	}
	if err := showSamples(ctx, lines, res.Samples); err != nil {
		return err
	}
	samples, rs, err := src.pipe.afterScrape(&res)
	if src.pipe.metric.Empty() {
		fmt.Fprintf(w, "# source %s: no metric_relabel_configs\n", n)
	} else {
		fmt.Fprintf(w, "# source %s: after metric_relabel_configs: %d samples (%d dropped by the rules, %d invalid or merged)\n",
			n, len(samples), rs.Dropped, rs.Invalid)
		if err == nil {
			if err := showSamples(ctx, lines, samples); err != nil {
				return err
			}
		}
	}
	if err != nil {
		fmt.Fprintf(w, "# source %s: scrape fails: %v\n", n, err)
		return errOnceSource
	}
	if rep := src.pipe.reportSamples(scrape.Report{Up: true, Duration: res.Duration, Scraped: res.Scraped(),
		PostRelabel: len(samples), SeriesAdded: src.pipe.seriesAdded(seriesOf(samples, &res, nil))}, res.Start.UnixMilli()); len(rep) > 0 {
		fmt.Fprintf(w, "# source %s: per-target series\n", n)
		if err := showSamples(ctx, lines, rep); err != nil {
			return err
		}
		samples = append(samples[:len(samples):len(samples)], rep...)
	}
	for _, st := range src.routes() {
		if only != "" && st.name != only {
			continue
		}
		out := samples
		if len(st.cfg.WriteRelabelConfigs) > 0 {
			var ws relabel.Stats
			out, ws = src.pipe.forSink(st, st.cfg.WriteRelabelConfigs, samples)
			fmt.Fprintf(w, "# sink %s: after write_relabel_configs: %d samples (%d dropped by the rules, %d invalid or merged)\n",
				st.name, len(out), ws.Dropped, ws.Invalid)
		}
		if err := f.showSink(ctx, w, lines, st, out); err != nil {
			return err
		}
	}
	return nil
}

// showSamples writes samples as JSON lines.
func showSamples(ctx context.Context, lines *stdout.Sink, samples []scrape.Sample) error {
	shown, err := lines.Encode(samples)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	for _, r := range shown.Requests {
		if err := lines.Send(ctx, r); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}
