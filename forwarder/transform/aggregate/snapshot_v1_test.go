package aggregate

import (
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// v1Stream is the input of step of the stream that built
// testdata/snapshot_v1.bin: rng and vals carry its state across steps.
func v1Stream(rng *rand.Rand, vals map[string]float64, step int) ([]scrape.Sample, int64) {
	now := int64(1_800_000_000_000) + int64(step)*1700
	var in []scrape.Sample
	for _, name := range []string{"c1", "c2"} {
		for _, inst := range []string{"a", "b", "c", "d"} {
			if rng.IntN(4) == 0 {
				continue
			}
			k := name + inst
			vals[k] += float64(rng.IntN(10))
			if rng.IntN(20) == 0 {
				vals[k] = 0
			}
			in = append(in, smp(name, vals[k], now-int64(rng.IntN(2500)), "instance="+inst, "env=e"+inst))
		}
	}
	return in, now
}

const v1Steps, v1Cut = 200, 100

func v1Options() Options { return Options{MaxLateness: 3 * time.Second, SeriesTTL: 40 * time.Second} }

// TestRestoreV1Snapshot: a checkpoint written by the version-1 format
// (the aggregator before the compact state, commit 2244171) still loads,
// and the restored aggregator continues exactly as the old one did (its
// outputs from the snapshot on, recorded in testdata/snapshot_v1.golden).
func TestRestoreV1Snapshot(t *testing.T) {
	snap, err := os.ReadFile("testdata/snapshot_v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/snapshot_v1.golden")
	if err != nil {
		t.Fatal(err)
	}
	if snap[4] != 1 {
		t.Fatalf("fixture is version %d, want 1", snap[4])
	}
	a, _ := New(snapRules, v1Options())
	if err := a.Restore(snap); err != nil {
		t.Fatalf("Restore(v1): %v", err)
	}
	rng, vals := rand.New(rand.NewPCG(7, 8)), map[string]float64{}
	var got []string
	for step := range v1Steps {
		in, now := v1Stream(rng, vals, step)
		if step < v1Cut {
			continue
		}
		got = append(got, render(a.Apply(in, now))...)
	}
	want := strings.Split(strings.TrimSpace(string(golden)), "\n")
	if len(want) < 50 || !slices.Equal(got, want) {
		t.Fatalf("after restoring v1: %d lines, want the %d the old aggregator produced\ngot  %q\nwant %q", len(got), len(want), head(got), head(want))
	}
}

func head(s []string) []string { return s[:min(len(s), 5)] }
