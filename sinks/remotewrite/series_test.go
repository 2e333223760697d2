package remotewrite

import (
	"testing"

	"github.com/promfwd/promfwd/scrape"
)

// TestSeriesIDHashCollision forces two label sets onto one identity hash:
// each keeps its own series (the overflow map tells them apart), a repeat
// of either finds it, and the builder's encoded labels are each series'
// own, with nothing left behind by the lookups.
func TestSeriesIDHashCollision(t *testing.T) {
	b := builder{index: make(map[uint64]int32)}
	x := []scrape.Label{{Name: "__name__", Value: "m"}, {Name: "a", Value: "1"}}
	y := []scrape.Label{{Name: "__name__", Value: "m"}, {Name: "a", Value: "2"}}
	const h = 42
	steps := []struct {
		ls   []scrape.Label
		want int32
	}{{x, 0}, {x, 0}, {y, 1}, {y, 1}, {x, 0}, {y, 1}}
	for i, st := range steps {
		if got := b.seriesID(h, st.ls); got != st.want {
			t.Fatalf("step %d: seriesID = %d, want %d", i, got, st.want)
		}
	}
	if want := len(appendLabels(appendLabels(nil, x), y)); len(b.labels) != want {
		t.Errorf("builder holds %d label bytes, want %d (each series once)", len(b.labels), want)
	}
	for id, ls := range [][]scrape.Label{x, y} {
		r := b.series[id]
		if got, want := string(b.labels[r.lo:r.hi]), string(appendLabels(nil, ls)); got != want {
			t.Errorf("series %d labels %q, want %q", id, got, want)
		}
	}
}
