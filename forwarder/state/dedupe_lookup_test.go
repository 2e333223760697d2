package state

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/promfwd/promfwd/scrape"
)

// TestDedupeIndexDropMatchesMapModel: sources that repeat their series in
// a steady order let the dedupe drop its index; the batch starts map, the
// rebuilds after a new series, a reordered scrape, a stale marker, a
// restore and a reset must never change a decision (the map model).
func TestDedupeIndexDropMatchesMapModel(t *testing.T) {
	const resend = time.Minute
	for _, seed := range []uint64{1, 2, 3, 4, 5, 6} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			clock := clockwork.NewFakeClock()
			d := NewDedupe(resend, clock)
			ref := &refDedupe{resendAfter: resend, last: map[uint64][2]uint64{}}
			sources := make([][]scrape.Sample, 4)
			for s := range sources {
				for i := range 40 {
					sources[s] = append(sources[s], mk("g", 0, scrape.KindGauge, nil, "src", fmt.Sprint(s), "id", fmt.Sprint(i)))
				}
			}
			values := map[uint64]float64{}
			next := 40
			drops, rebuilds := 0, 0
			for step := range 1500 {
				src := step % len(sources)
				batch := slices.Clone(sources[src])
				switch rng.IntN(150) {
				case 0: // a new series at the end
					sources[src] = append(sources[src], mk("g", 0, scrape.KindGauge, nil, "src", fmt.Sprint(src), "id", fmt.Sprint(next)))
					next++
					batch = slices.Clone(sources[src])
				case 1: // one scrape in another order
					rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
				case 2: // a series goes stale and leaves
					k := rng.IntN(len(batch))
					batch[k].Value = math.Float64frombits(scrape.StaleNaN)
					sources[src] = slices.Delete(sources[src], k, k+1)
				case 3: // a restart
					r := NewDedupe(resend, clock)
					if err := r.Restore(d.Snapshot()); err != nil {
						t.Fatalf("step %d: restore: %v", step, err)
					}
					r.lastSweep = d.lastSweep
					d = r
				}
				for i := range batch {
					if scrape.IsStaleNaN(batch[i].Value) {
						continue
					}
					if rng.IntN(8) == 0 {
						values[batch[i].Hash]++
					}
					batch[i].Value = values[batch[i].Hash]
				}
				indexed := d.indexed
				out, skipped := d.Filter(batch)
				wantSent, wantSkipped := ref.filter(batch, clock.Now())
				if got := names(out); skipped != wantSkipped || !slices.Equal(got, wantSent) {
					t.Fatalf("step %d: sent %v skipped %d, want %v skipped %d", step, got, skipped, wantSent, wantSkipped)
				}
				if d.Len() != len(ref.last) {
					t.Fatalf("step %d: Len %d, want %d", step, d.Len(), len(ref.last))
				}
				switch {
				case indexed && !d.indexed:
					drops++
				case !indexed && d.indexed:
					rebuilds++
				}
				clock.Advance(time.Second)
			}
			// The test must have exercised the path it is about.
			if drops < 2 || rebuilds < 2 {
				t.Fatalf("index dropped %d and rebuilt %d times; want both at least twice", drops, rebuilds)
			}
		})
	}
}

// TestDedupeSteadyScrapesDropIndex: after a resend_after of scrapes that
// repeat their order, from several sources in turn, the index is gone and
// the dedupe holds only its 20-byte entries.
func TestDedupeSteadyScrapesDropIndex(t *testing.T) {
	const perSource, nsrc = 5000, 4
	clock := clockwork.NewFakeClock()
	d := NewDedupe(time.Minute, clock)
	batches := make([][]scrape.Sample, nsrc)
	for s := range batches {
		for i := range perSource {
			batches[s] = append(batches[s], scrape.Sample{Name: "m", Value: float64(i), Hash: uint64(s*perSource+i+1) * 0x9E3779B97F4A7C15})
		}
	}
	for range 3 * 60 / 5 { // three minutes of 5 s scrapes
		clock.Advance(5 * time.Second)
		for _, b := range batches {
			d.Filter(b)
		}
	}
	if d.indexed || d.idx.bytes() != 0 {
		t.Fatalf("index still held (%d bytes) after steady scrapes", d.idx.bytes())
	}
	// Sources follow each other in the entries as first seen: only the
	// first one's start is not where the last one ended.
	if len(d.starts) != 1 {
		t.Fatalf("batch starts remembered: %d, want 1", len(d.starts))
	}
	// A new series brings the index back, and with it the right answer.
	b := append(slices.Clone(batches[0]), scrape.Sample{Name: "m", Value: 1, Hash: 42})
	if out, skipped := d.Filter(b); skipped != perSource || len(out) != 1 || out[0].Hash != 42 {
		t.Fatalf("new series: sent %d skipped %d", len(out), skipped)
	}
	if !d.indexed || d.Len() != nsrc*perSource+1 {
		t.Fatalf("after a new series: indexed %v, Len %d", d.indexed, d.Len())
	}
}
