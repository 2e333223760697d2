package scrape

import "time"

// Report is what Prometheus records about each scrape of a target, beside
// the target's own samples.
type Report struct {
	Up          bool
	Duration    time.Duration
	Scraped     int // samples the exposition held (scrape_samples_scraped)
	PostRelabel int // samples left after metric relabeling
	SeriesAdded int // series not present in the previous scrape
}

// Names of the series Prometheus adds per target.
const (
	ReportUp          = "up"
	ReportDuration    = "scrape_duration_seconds"
	ReportScraped     = "scrape_samples_scraped"
	ReportPostRelabel = "scrape_samples_post_metric_relabeling"
	ReportSeriesAdded = "scrape_series_added"
)

var reportMeta = [...]*Meta{
	{Family: ReportUp, Type: TypeGauge, Help: "Whether the last scrape of the target succeeded (1) or not (0)."},
	{Family: ReportDuration, Type: TypeGauge, Help: "Duration of the scrape.", Unit: "seconds"},
	{Family: ReportScraped, Type: TypeGauge, Help: "Samples the target exposed."},
	{Family: ReportPostRelabel, Type: TypeGauge, Help: "Samples remaining after metric relabeling."},
	{Family: ReportSeriesAdded, Type: TypeGauge, Help: "New series in this scrape."},
}

// ReportSamples returns the five series Prometheus adds for every scrape of
// a target (up, scrape_duration_seconds, scrape_samples_scraped,
// scrape_samples_post_metric_relabeling, scrape_series_added), carrying the
// target labels tl (sorted) and stamped tsMs. Metric relabeling never
// applies to them, as in Prometheus.
func ReportSamples(tl Labels, r Report, tsMs int64) []Sample {
	up := 0.0
	if r.Up {
		up = 1
	}
	vals := [...]float64{up, r.Duration.Seconds(), float64(r.Scraped), float64(r.PostRelabel), float64(r.SeriesAdded)}
	var ls Labels
	for _, l := range tl {
		if l.Value != "" {
			ls = append(ls, l)
		}
	}
	out := make([]Sample, len(vals))
	for i, m := range reportMeta {
		out[i] = Sample{Name: m.Family, Labels: SetOf(ls), Value: vals[i], TimestampMs: tsMs, Kind: KindGauge, Meta: m,
			Hash: SeriesHash(m.Family, ls)}
	}
	return out
}
