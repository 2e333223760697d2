package forwarder

import (
	"slices"
	"testing"

	"github.com/promfwd/promfwd/scrape"
)

// TestAppendExtrasInPlace: a scrape's stale markers and per-target series
// go after its samples without a second copy of the batch when the
// parser left room (it does after a steady scrape), and a clipped view
// kept for a later reuse (src.last, a target's 304 copy) is not touched by
// the append.
func TestAppendExtrasInPlace(t *testing.T) {
	batch := make([]scrape.Sample, 1000, 1000+1000/16+16)
	for i := range batch {
		batch[i] = scrape.Sample{Name: "x", Value: float64(i)}
	}
	kept := slices.Clip(batch)
	markers := []scrape.Sample{{Name: "gone"}}
	rep := []scrape.Sample{{Name: "up", Value: 1}, {Name: "scrape_duration_seconds"}}
	allocs := testing.AllocsPerRun(100, func() {
		out := appendExtras(batch, markers, rep)
		if len(out) != 1003 || &out[0] != &batch[0] {
			t.Fatalf("len %d, in place %v", len(out), &out[0] == &batch[0])
		}
	})
	if allocs != 0 {
		t.Fatalf("appendExtras: %.1f allocs per scrape, want 0 (no copy of the batch)", allocs)
	}
	out := appendExtras(batch, markers, rep)
	if out[1000].Name != "gone" || out[1001].Name != "up" || out[1002].Name != "scrape_duration_seconds" {
		t.Fatalf("extras: %v", out[1000:])
	}
	// The kept view has no room: appending to it copies, and the
	// delivered batch's extras stay as they were.
	again := appendExtras(kept, []scrape.Sample{{Name: "other"}}, nil)
	if &again[0] == &batch[0] || out[1000].Name != "gone" {
		t.Fatal("an append to the kept view wrote into the delivered batch")
	}
}
