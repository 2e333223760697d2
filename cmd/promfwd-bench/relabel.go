package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// benchRules are the metric_relabel_configs -relabel N pastes into every
// source (the first N): the kinds of rules users bring (hashmod sharding,
// a label renamed, a metric family dropped), none of which drops a
// benchmark sample or makes the output bigger, so delivered counts and
// wire bytes stay comparable. Renaming a label changes every series'
// identity, the expensive case: relabeled hashes and the merged-series
// check.
var benchRules = []string{
	"      - source_labels: [__name__]\n        regex: debug_.*|go_gc_.*\n        action: drop\n",
	"      - source_labels: [instance, series]\n        target_label: __tmp_shard\n        modulus: 8\n        action: hashmod\n",
	"      - source_labels: [__tmp_shard]\n        regex: \"[0-7]\"\n        action: keep\n",
	"      - source_labels: [l2]\n        target_label: label2\n",
	"      - regex: l2|__tmp_shard\n        action: labeldrop\n",
}

// relabelBlock returns the YAML for the first n rules, or "".
func relabelBlock(n int) string {
	if n <= 0 {
		return ""
	}
	return "    metric_relabel_configs:\n" + strings.Join(benchRules[:min(n, len(benchRules))], "")
}

// abRelabel measures relabeling off and on in alternation, rounds times,
// for the first sink, and prints the on/off CPU ratio of each pair, so load
// from other processes on a shared machine hits both sides alike.
func abRelabel(ctx context.Context, o options, bin, dir string, urls []string, stdout, stderr io.Writer) error {
	sink := o.sinks[0]
	rules := max(o.relabel, 5)
	var ratios []string
	for r := range o.abRounds {
		var perM [2]float64
		for i, n := range []int{0, rules} {
			oo := o
			oo.relabel = n
			res, err := runOne(ctx, oo, sink, bin, dir, urls, stderr)
			if err != nil {
				return fmt.Errorf("%s: %w", sink, err)
			}
			fmt.Fprintf(stdout, "\n-- round %d, relabel rules: %d", r+1, n)
			res.print(stdout, oo)
			if res.recv.Samples > 0 {
				perM[i] = float64(res.cpu.Milliseconds()) / (float64(res.recv.Samples) / 1e6)
			}
		}
		if perM[0] > 0 {
			ratios = append(ratios, fmt.Sprintf("round %d: off %.0f ms, on %.0f ms per 1M delivered: on/off = %.3f", r+1, perM[0], perM[1], perM[1]/perM[0]))
		}
	}
	fmt.Fprintf(stdout, "\n== relabel A/B (%d rules, sink %s)\n  %s\n", rules, sink, strings.Join(ratios, "\n  "))
	return nil
}
