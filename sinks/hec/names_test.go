package hec

import (
	"fmt"
	"testing"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

func TestMetricNameMapping(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"up", "up"},
		{"docker.engine:ops_total", "docker.engine:ops_total"},
		{"_ref_underscore_total", "prom__ref_underscore_total"},
		{"__name__", "prom___name__"},
		{"2xx_total", "prom_2xx_total"},
		{"ref_metric_name_total", "ref_metric__name_total"},
		{"metric_name", "metric__name"},
		{"metric_name_metric_name", "metric__name_metric__name"},
		{"_metric_name", "prom__metric__name"},
		{"häß✓", "h___"},
		{"a-b c", "a_b_c"},
		{"✓x", "prom__x"},
	} {
		got := metricName(c.in)
		if got != c.want {
			t.Errorf("metricName(%q) = %q, want %q", c.in, got, c.want)
		}
		if !validMetricName(got) {
			t.Errorf("metricName(%q) = %q breaks Splunk's rules", c.in, got)
		}
		if metricName(got) != got {
			t.Errorf("metricName is not idempotent on %q", got)
		}
	}
}

// TestMetricNamesAcceptedBySplunkRules sends legal Prometheus names that
// Splunk refuses through both modes to a receiver that applies Splunk's
// rules: every point arrives under its documented name, and a name that
// the mapping folds onto another series' name is dropped and counted.
func TestMetricNamesAcceptedBySplunkRules(t *testing.T) {
	job := lbls("job", "x")
	samples := []scrape.Sample{
		{Name: "_ref_underscore_total", Labels: scrape.SetOf(job), Value: 1, Kind: scrape.KindCounter},
		{Name: "ref_metric_name_total", Labels: scrape.SetOf(job), Value: 2, Kind: scrape.KindCounter},
		{Name: "1st_gauge", Labels: scrape.SetOf(job), Value: 3, Kind: scrape.KindGauge},
		{Name: "a_b", Labels: scrape.SetOf(job), Value: 4, Kind: scrape.KindGauge},
		{Name: "a-b", Labels: scrape.SetOf(job), Value: 5, Kind: scrape.KindGauge}, // collides with a_b
		{Name: "ok", Labels: scrape.SetOf(job), Value: 6, Kind: scrape.KindGauge},
	}
	for i := range samples {
		samples[i].TimestampMs = testTS
	}
	want := map[string]float64{
		"prom__ref_underscore_total": 1, "ref_metric__name_total": 2, "prom_1st_gauge": 3, "a_b": 4, "ok": 6,
	}
	for _, multi := range []bool{false, true} {
		t.Run(fmt.Sprintf("multi=%v", multi), func(t *testing.T) {
			srv := hectest.New(t, hectest.Options{})
			cfg := testConfig(srv.URL())
			cfg.MultiMetric = multi
			s, logs, _ := newTestSink(t, cfg)
			enc := sendAll(t, s, samples)
			if enc.NameCollisions != 1 {
				t.Errorf("NameCollisions = %d, want 1 (a-b maps onto a_b)", enc.NameCollisions)
			}
			got := map[string]float64{}
			for _, p := range srv.Points() {
				got[p.Name] = p.Value
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("received %v, want %v", got, want)
			}
			if n := logs.FilterMessageSnippet("collide").Len(); n != 1 {
				t.Errorf("%d collision log lines, want 1", n)
			}
			// Once a minute: a second batch with the collision logs nothing more.
			if enc := sendAll(t, s, samples); enc.NameCollisions != 1 {
				t.Errorf("second batch NameCollisions = %d, want 1", enc.NameCollisions)
			}
			if n := logs.FilterMessageSnippet("collide").Len(); n != 1 {
				t.Errorf("%d collision log lines after two batches, want 1", n)
			}
		})
	}
}

// TestDimNamesAllocs: renaming many `_`-prefixed labels reuses one set
// of names in use (issue 21.11; BenchmarkDims shows the linear cost).
func TestDimNamesAllocs(t *testing.T) {
	allocs := func(n int) float64 {
		ls := underscoreLabels(n)
		var d dimNamer
		buf := d.appendDims(nil, scrape.SetOf(ls))
		return testing.AllocsPerRun(3, func() { buf = d.appendDims(buf[:0], scrape.SetOf(ls)) })
	}
	// Allocation counts are exact, unlike timings: the set of names in use
	// is reused, so the only allocation is each renamed name.
	if a := allocs(4000); a > 4000 {
		t.Errorf("appendDims allocates %.0f times for 4000 renamed labels, want at most one per label", a)
	}
}

func underscoreLabels(n int) scrape.Labels {
	ls := make(scrape.Labels, n)
	for i := range ls {
		ls[i] = scrape.Label{Name: fmt.Sprintf("_l%05d", i), Value: "v"}
	}
	return ls
}

// BenchmarkDims encodes the dimensions of 30 series with n `_`-prefixed
// labels each (issue 21.11 measured 300 series x 10,000 labels): the cost
// per label must not grow with n.
func BenchmarkDims(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("labels=%d", n), func(b *testing.B) {
			ls := underscoreLabels(n)
			var d dimNamer
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				for range 30 { // 30 series per op
					buf = d.appendDims(buf[:0], scrape.SetOf(ls))
				}
			}
		})
	}
}
