package scrape

import (
	"testing"
	"time"
)

func TestReportSamples(t *testing.T) {
	tl := Labels{{"instance", "h:1"}, {"job", "j"}, {"zone", ""}}
	got := ReportSamples(tl, Report{Up: true, Duration: 1500 * time.Millisecond, Scraped: 10, PostRelabel: 7, SeriesAdded: 3}, 42)
	want := []struct {
		name string
		v    float64
	}{{"up", 1}, {"scrape_duration_seconds", 1.5}, {"scrape_samples_scraped", 10}, {"scrape_samples_post_metric_relabeling", 7}, {"scrape_series_added", 3}}
	if len(got) != len(want) {
		t.Fatalf("%d samples", len(got))
	}
	for i, w := range want {
		s := got[i]
		if s.Name != w.name || s.Value != w.v || s.TimestampMs != 42 || s.Labels.String() != `{instance="h:1",job="j"}` ||
			s.Hash != SeriesHash(w.name, s.Labels.Labels()) || s.Kind != KindGauge {
			t.Errorf("sample %d: %+v", i, s)
		}
	}
	if down := ReportSamples(tl, Report{}, 1); down[0].Value != 0 {
		t.Errorf("up = %v for a failed scrape", down[0].Value)
	}
}
