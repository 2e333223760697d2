package aggregate

import (
	"slices"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// TestBucketRuleTakesWholeHistogram: a rule that matches only h_bucket
// aggregates the histogram's h_sum and h_count too (and consumes them),
// instead of leaving them raw; a gauge that merely ends in _sum, and the
// _sum of a histogram whose buckets the rule does not match, pass.
func TestBucketRuleTakesWholeHistogram(t *testing.T) {
	for _, match := range []string{`h_bucket`, `{__name__=~"h_bucket", job="x"}`} {
		t.Run(match, func(t *testing.T) {
			a := mustNew(t, 0, Rule{Match: match, Interval: 10 * time.Second, By: []string{"job"}, Outputs: []string{"increase"}})
			base := int64(1_800_000_000_000)
			kind := func(s scrape.Sample, k scrape.Kind) scrape.Sample { s.Kind = k; return s }
			var passed []string
			for i, v := range []float64{1, 5} {
				ts := base + int64(i)*sec
				in := []scrape.Sample{
					kind(smp("h_bucket", v, ts, "instance=a", "job=x", "le=1"), scrape.KindHistogramBucket),
					kind(smp("h_bucket", 2*v, ts, "instance=a", "job=x", "le=+Inf"), scrape.KindHistogramBucket),
					kind(smp("h_sum", 10*v, ts, "instance=a", "job=x"), scrape.KindHistogramSum),
					kind(smp("h_count", 2*v, ts, "instance=a", "job=x"), scrape.KindHistogramCount),
					kind(smp("g_sum", v, ts, "instance=a", "job=x"), scrape.KindGauge),
					kind(smp("o_sum", v, ts, "instance=a", "job=x"), scrape.KindHistogramSum),
				}
				passed = append(passed, render(a.Apply(in, ts))...)
			}
			for _, p := range passed {
				if p[:2] == "h_" {
					t.Fatalf("a histogram series passed raw: %s", p)
				}
			}
			if len(passed) != 4 {
				t.Fatalf("want g_sum and o_sum passed twice each, got %v", passed)
			}
			got := render(a.Apply(nil, base+10*sec))
			want := []string{
				`h_bucket:10s_by_job_increase{job="x",le="+Inf"} 1800000010000=8 delta`,
				`h_bucket:10s_by_job_increase{job="x",le="1"} 1800000010000=4 delta`,
				`h_count:10s_by_job_increase{job="x"} 1800000010000=8 delta`,
				`h_sum:10s_by_job_increase{job="x"} 1800000010000=40 delta`,
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v\nwant %v", got, want)
			}
		})
	}
}
