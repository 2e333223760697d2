package aggregate

import (
	"slices"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// TestExpiryFreesAndReusesSlots: series and groups without a sample for the
// TTL are forgotten (a returning series is a new baseline), and their slots
// are reused by new series and groups without leaking state into them.
func TestExpiryFreesAndReusesSlots(t *testing.T) {
	a, _ := New([]Rule{{Match: `c`, Interval: 10 * time.Second, By: []string{"g"}, Outputs: []string{"total"}}},
		Options{SeriesTTL: 30 * time.Second})
	r := a.rules[0]
	base := int64(1_800_000_000_000)
	at := func(s int64) int64 { return base + s*sec }
	apply := func(now int64, in ...scrape.Sample) []string { return render(a.Apply(in, now)) }
	apply(at(0), smp("c", 1, at(0), "g=1", "s=a"), smp("c", 1, at(0), "g=1", "s=b"), smp("c", 100, at(0), "g=2", "s=c"))
	apply(at(5), smp("c", 2, at(5), "g=1", "s=a"), smp("c", 2, at(5), "g=1", "s=b"), smp("c", 105, at(5), "g=2", "s=c"))
	for i, s := range []int64{10, 20, 30, 40, 50, 60} { // only a
		apply(at(s), smp("c", float64(3+i), at(s), "g=1", "s=a"))
	}
	if n := r.numSeries(); n != 1 {
		t.Fatalf("%d series remembered after b and c went quiet for the TTL, want 1", n)
	}
	if r.live(1) || r.numGroups() != 1 || r.outputSeries() != 1 {
		t.Fatalf("group g=2 not forgotten: live %v, %d groups, %d output series", r.live(1), r.numGroups(), r.outputSeries())
	}
	apply(at(70), smp("c", 9, at(70), "g=1", "s=a"), smp("c", 10, at(70), "g=1", "s=b"), smp("c", 50, at(70), "g=3", "s=d"))
	apply(at(75), smp("c", 10, at(75), "g=1", "s=a"), smp("c", 11, at(75), "g=1", "s=b"), smp("c", 53, at(75), "g=3", "s=d"))
	got := apply(at(80))
	// a rose by 9 in all, b by 1 before and 1 after its return (10 was its
	// new baseline, not a rise of 8); d by 3 from its baseline.
	want := []string{`c:10s_by_g_total{g="1"} 1800000080000=11 counter`, `c:10s_by_g_total{g="3"} 1800000080000=3 counter`}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if r.core.len() != 3 || len(r.groups) != 2 {
		t.Fatalf("slots not reused: %d series slots, %d group slots (want 3, 2)", r.core.len(), len(r.groups))
	}
}
