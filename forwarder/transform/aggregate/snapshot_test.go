package aggregate

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/forwarder/transform"
	"github.com/promfwd/promfwd/scrape"
)

var snapRules = []Rule{
	{Match: `{__name__=~"c.*"}`, Interval: 10 * time.Second, Without: []string{"instance"},
		Outputs: []string{"total", "increase", "rate_sum", "count_series", "quantiles(0.9)", "avg"}},
	{Match: `c1`, Interval: 30 * time.Second, By: []string{"env"}, Outputs: []string{"max", "last"}, MaxOutputSeries: 3},
}

// TestSnapshotRestoreIsTransparent feeds one random stream to an aggregator
// that runs through and to one that is snapshotted and restored into a
// fresh Aggregator after every scrape: the outputs must be identical.
func TestSnapshotRestoreIsTransparent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	through, _ := New(snapRules, Options{MaxLateness: 3 * time.Second, SeriesTTL: 40 * time.Second})
	restarted, _ := New(snapRules, Options{MaxLateness: 3 * time.Second, SeriesTTL: 40 * time.Second})
	base := int64(1_800_000_000_000)
	vals := map[string]float64{}
	var got1, got2 []string
	for step := range 200 {
		now := base + int64(step)*1700
		var in []scrape.Sample
		for _, name := range []string{"c1", "c2"} {
			for _, inst := range []string{"a", "b", "c"} {
				if rng.IntN(4) == 0 {
					continue // absent this scrape
				}
				k := name + inst
				vals[k] += float64(rng.IntN(10))
				if rng.IntN(20) == 0 {
					vals[k] = 0 // reset
				}
				in = append(in, smp(name, vals[k], now-int64(rng.IntN(2500)), "instance="+inst, "env=e"+inst))
			}
		}
		got1 = append(got1, render(through.Apply(in, now))...)
		got2 = append(got2, render(restarted.Apply(in, now))...)
		snap := restarted.Snapshot()
		restarted, _ = New(snapRules, Options{MaxLateness: 3 * time.Second, SeriesTTL: 40 * time.Second})
		if err := restarted.Restore(snap); err != nil {
			t.Fatalf("step %d: Restore: %v", step, err)
		}
	}
	if len(got1) < 100 || !slices.Equal(got1, got2) {
		t.Fatalf("outputs differ after restores (%d vs %d lines)", len(got1), len(got2))
	}
	if !slices.ContainsFunc(got1, func(s string) bool { return strings.Contains(s, "_total{") }) {
		t.Fatal("no total output at all")
	}
}

func TestRestoreRejectsGarbageAndChangedRules(t *testing.T) {
	a, _ := New(snapRules, Options{})
	base := int64(1_800_000_000_000)
	a.Apply([]scrape.Sample{smp("c1", 5, base, "instance=a", "env=x")}, base)
	a.Apply([]scrape.Sample{smp("c1", 9, base+sec, "instance=a", "env=x")}, base+sec)
	snap := a.Snapshot()
	for _, bad := range [][]byte{{1, 2, 3}, snap[:len(snap)-3], append(slices.Clone(snap), 7)} {
		b, _ := New(snapRules, Options{})
		if err := b.Restore(bad); !errors.Is(err, transform.ErrBadSnapshot) {
			t.Errorf("Restore(%d bytes) = %v, want ErrBadSnapshot", len(bad), err)
		}
	}
	// The first rule's outputs changed: its state is not restored; the second's is.
	changed := slices.Clone(snapRules)
	changed[0].Outputs = []string{"total"}
	b, _ := New(changed, Options{})
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if b.rules[0].numSeries() != 0 || b.rules[1].numSeries() != 1 {
		t.Fatalf("restored series: rule0 %d (want 0), rule1 %d (want 1)", b.rules[0].numSeries(), b.rules[1].numSeries())
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		r   Rule
		key string
	}{
		{Rule{Interval: time.Minute, Outputs: []string{"sum"}}, "match"},
		{Rule{Match: `{x=""}`, Interval: time.Minute, Outputs: []string{"sum"}}, "match"},
		{Rule{Match: `x`, Interval: 1500 * time.Millisecond, Outputs: []string{"sum"}}, "interval"},
		{Rule{Match: `x`, Interval: time.Minute, By: []string{"a"}, Without: []string{"b"}, Outputs: []string{"sum"}}, "by"},
		{Rule{Match: `x`, Interval: time.Minute}, "outputs"},
		{Rule{Match: `x`, Interval: time.Minute, Outputs: []string{"median"}}, "outputs"},
		{Rule{Match: `x`, Interval: time.Minute, Outputs: []string{"quantiles(1.5)"}}, "outputs"},
		{Rule{Match: `x{quantile="0.99"}`, Interval: time.Minute, Outputs: []string{"sum"}}, "outputs"},
		{Rule{Match: `x`, Interval: time.Minute, By: []string{"quantile"}, Outputs: []string{"avg"}}, "outputs"},
		{Rule{Match: `x`, Interval: time.Minute, Outputs: []string{"sum", "max"}, KeepMetricNames: true}, "keep_metric_names"},
	}
	for _, tt := range tests {
		err := Compile(tt.r)
		var fe *ErrField
		if !errors.As(err, &fe) || fe.Key != tt.key {
			t.Errorf("Compile(%+v) = %v, want an error on %s", tt.r, err, tt.key)
		}
	}
	if err := Compile(Rule{Match: `x{quantile="0.99"}`, Interval: time.Minute, Outputs: []string{"max", "last", "count_series"}}); err != nil {
		t.Errorf("non-adding outputs over quantiles: %v", err)
	}
	names, _ := OutputNames(Rule{Match: `x`, Interval: 90 * time.Second, Without: []string{"pod", "instance"}, Outputs: []string{"total", "quantiles(0.5)"}}, "x")
	if want := []string{"x:90s_without_instance_pod_total", "x:90s_without_instance_pod_quantiles"}; !slices.Equal(names, want) {
		t.Errorf("OutputNames = %v, want %v", names, want)
	}
}
