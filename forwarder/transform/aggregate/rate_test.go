package aggregate

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// TestRateAvg: rate_avg is rate_sum over the series that have a rate in
// the window (vmagent's rate_avg); a window where no series has one yet
// (only baselines) has no rate_avg, while rate_sum says 0.
func TestRateAvg(t *testing.T) {
	a := mustNew(t, 0, Rule{Match: `c`, Interval: time.Minute, Without: []string{"instance"}, Outputs: []string{"rate_sum", "rate_avg"}})
	base := int64(1_800_000_000_000)
	// First window: baselines only.
	a.Apply([]scrape.Sample{smp("c", 0, base-50*sec, "instance=a")}, base-50*sec)
	a.Apply([]scrape.Sample{smp("c", 7, base-40*sec, "instance=c")}, base-40*sec)
	got := render(a.Apply(nil, base))
	if want := []string{`c:1m_without_instance_rate_sum{} 1800000000000=0 gauge`}; !slices.Equal(got, want) {
		t.Fatalf("baselines only: got %v, want %v", got, want)
	}
	// a: 0 at -50s, 10 at 10s, 40 at 40s: 40 over 90s. b: 0 at 5s, 30 at 35s: 1/s.
	// c: 7 at -40s, 7 at 30s: 0 over 70s (a rate of 0 counts).
	a.Apply([]scrape.Sample{smp("c", 0, base+5*sec, "instance=b"), smp("c", 10, base+10*sec, "instance=a")}, base+10*sec)
	a.Apply([]scrape.Sample{smp("c", 7, base+30*sec, "instance=c"), smp("c", 30, base+35*sec, "instance=b"), smp("c", 40, base+40*sec, "instance=a")}, base+40*sec)
	out := a.Apply(nil, base+60*sec)
	sum := 40.0/90 + 1 + 0
	want := map[string]float64{"c:1m_without_instance_rate_sum": sum, "c:1m_without_instance_rate_avg": sum / 3}
	if len(out) != len(want) {
		t.Fatalf("got %v, want %v", render(out), want)
	}
	for _, s := range out {
		if w, ok := want[s.Name]; !ok || math.Abs(s.Value-w) > 1e-12 || s.TimestampMs != base+60*sec {
			t.Errorf("%s = %v at %d, want %v at %d", s.Name, s.Value, s.TimestampMs, w, base+60*sec)
		}
	}
}
