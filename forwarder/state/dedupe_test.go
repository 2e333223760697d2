package state

import (
	"math"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/promfwd/promfwd/scrape"
)

func mk(name string, v float64, kind scrape.Kind, meta *scrape.Meta, ls ...string) scrape.Sample {
	var labels scrape.Labels
	for i := 0; i+1 < len(ls); i += 2 {
		labels = append(labels, scrape.Label{Name: ls[i], Value: ls[i+1]})
	}
	return scrape.Sample{Name: name, Labels: scrape.SetOf(labels), Value: v, Kind: kind, Meta: meta, Hash: scrape.SeriesHash(name, labels)}
}

func names(ss []scrape.Sample) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name + s.Labels.String()
	}
	return out
}

func TestDedupeSameBodyTenTimesThenHeartbeat(t *testing.T) {
	clock := clockwork.NewFakeClock()
	d := NewDedupe(5*time.Minute, clock)
	batch := []scrape.Sample{
		mk("a", 1, scrape.KindGauge, nil),
		mk("b_total", 2, scrape.KindCounter, nil, "x", "1"),
	}
	sent := 0
	for i := 0; i < 10; i++ {
		out, skipped := d.Filter(batch)
		sent += len(out)
		if len(out)+skipped != len(batch) {
			t.Fatalf("scrape %d: %d sent + %d skipped != %d", i, len(out), skipped, len(batch))
		}
		clock.Advance(15 * time.Second) // 10 scrapes = 2m30s < resend_after
	}
	if sent != 2 {
		t.Fatalf("10 identical scrapes sent %d samples, want each series once (2)", sent)
	}
	clock.Advance(5 * time.Minute)
	out, _ := d.Filter(batch)
	if len(out) != 2 {
		t.Fatalf("after resend_after sent %v, want both series again", names(out))
	}
}

func TestDedupeChangedValueGoesOutNextScrape(t *testing.T) {
	clock := clockwork.NewFakeClock()
	d := NewDedupe(time.Hour, clock)
	d.Filter([]scrape.Sample{mk("a", 1, scrape.KindGauge, nil), mk("b", 1, scrape.KindGauge, nil)})
	clock.Advance(time.Second)
	out, skipped := d.Filter([]scrape.Sample{mk("a", 1, scrape.KindGauge, nil), mk("b", 2, scrape.KindGauge, nil)})
	if got := names(out); len(got) != 1 || got[0] != "b{}" || skipped != 1 {
		t.Fatalf("got %v skipped %d, want only b", got, skipped)
	}
	// NaN compares by bits, so a NaN that stays NaN is deduped too.
	d.Filter([]scrape.Sample{mk("n", math.NaN(), scrape.KindGauge, nil)})
	if out, _ := d.Filter([]scrape.Sample{mk("n", math.NaN(), scrape.KindGauge, nil)}); len(out) != 0 {
		t.Fatalf("unchanged NaN resent: %v", names(out))
	}
}

func TestDedupeHistogramGroupTravelsWhole(t *testing.T) {
	clock := clockwork.NewFakeClock()
	d := NewDedupe(time.Hour, clock)
	meta := &scrape.Meta{Family: "h", Type: scrape.TypeHistogram}
	hist := func(b2 float64) []scrape.Sample {
		return []scrape.Sample{
			mk("g", 7, scrape.KindGauge, nil),
			mk("h_bucket", 1, scrape.KindHistogramBucket, meta, "le", "1"),
			mk("h_bucket", b2, scrape.KindHistogramBucket, meta, "le", "+Inf"),
			mk("h_sum", 3, scrape.KindHistogramSum, meta),
			mk("h_count", b2, scrape.KindHistogramCount, meta),
		}
	}
	d.Filter(hist(2))
	out, skipped := d.Filter(hist(3))
	want := []string{`h_bucket{le="1"}`, `h_bucket{le="+Inf"}`, "h_sum{}", "h_count{}"}
	got := names(out)
	if len(got) != len(want) || skipped != 1 {
		t.Fatalf("got %v (skipped %d), want the whole histogram %v", got, skipped, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestDedupeStaleMarkerPassesAndForgets(t *testing.T) {
	d := NewDedupe(time.Hour, clockwork.NewFakeClock())
	d.Filter([]scrape.Sample{mk("a", 1, scrape.KindGauge, nil)})
	stale := mk("a", math.Float64frombits(scrape.StaleNaN), scrape.KindGauge, nil)
	if out, _ := d.Filter([]scrape.Sample{stale}); len(out) != 1 {
		t.Fatal("stale marker was deduped")
	}
	if d.Len() != 0 {
		t.Fatalf("series still remembered after stale marker: %d", d.Len())
	}
	if out, _ := d.Filter([]scrape.Sample{mk("a", 1, scrape.KindGauge, nil)}); len(out) != 1 {
		t.Fatal("series that came back after going stale was deduped")
	}
}

func TestDedupeDisabledPassesEverything(t *testing.T) {
	d := NewDedupe(0, nil)
	in := []scrape.Sample{mk("a", 1, scrape.KindGauge, nil)}
	for i := 0; i < 3; i++ {
		if out, skipped := d.Filter(in); len(out) != 1 || skipped != 0 {
			t.Fatalf("disabled dedupe filtered: %d out, %d skipped", len(out), skipped)
		}
	}
}

func TestDedupeSweepForgetsVanishedSeries(t *testing.T) {
	clock := clockwork.NewFakeClock()
	d := NewDedupe(time.Minute, clock)
	d.Filter([]scrape.Sample{mk("gone", 1, scrape.KindGauge, nil)})
	for i := 0; i < 5; i++ {
		clock.Advance(time.Minute)
		d.Filter([]scrape.Sample{mk("stays", 1, scrape.KindGauge, nil)})
	}
	if d.Len() != 1 {
		t.Fatalf("remembered %d series, want 1 (the vanished one swept)", d.Len())
	}
}

func TestStalenessMarksDisappearedAndDown(t *testing.T) {
	st := NewStaleness()
	a, b := mk("a", 1, scrape.KindGauge, nil), mk("b", 1, scrape.KindGauge, nil)
	if m := st.Observe([]scrape.Sample{a, b}, 1000); len(m) != 0 {
		t.Fatalf("first scrape produced markers %v", names(m))
	}
	m := st.Observe([]scrape.Sample{a}, 2000)
	if len(m) != 1 || m[0].Name != "b" || !scrape.IsStaleNaN(m[0].Value) || m[0].TimestampMs != 2000 {
		t.Fatalf("markers = %+v, want one stale marker for b at 2000", m)
	}
	if m := st.Observe([]scrape.Sample{a}, 3000); len(m) != 0 {
		t.Fatalf("marker repeated: %v", names(m))
	}
	m = st.Down(4000)
	if len(m) != 1 || m[0].Name != "a" || !scrape.IsStaleNaN(m[0].Value) {
		t.Fatalf("down markers = %v, want a", names(m))
	}
	if m := st.Down(5000); len(m) != 0 {
		t.Fatalf("second down repeated markers %v", names(m))
	}
}
