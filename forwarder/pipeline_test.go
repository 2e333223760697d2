package forwarder

import (
	"testing"

	"github.com/promfwd/promfwd/scrape"
)

func pipeSample(name, v string) scrape.Sample {
	ls := scrape.Labels{{Name: "k", Value: v}}
	return scrape.Sample{Name: name, Labels: scrape.SetOf(ls), Hash: scrape.SeriesHash(name, ls)}
}

func TestPipeSeriesAdded(t *testing.T) {
	p := newPipe(nil, scrape.Limits{}, true, nil)
	a, b, c := pipeSample("m", "a"), pipeSample("m", "b"), pipeSample("m", "c")
	for i, tc := range []struct {
		cur  []scrape.Sample
		want int
	}{
		{[]scrape.Sample{a, b}, 2}, // first scrape: everything is new, as in Prometheus
		{[]scrape.Sample{a, b}, 0},
		{[]scrape.Sample{b, a}, 0}, // reordered
		{[]scrape.Sample{a, c}, 1},
		{[]scrape.Sample{a, c, c}, 0},
		{nil, 0},
		{[]scrape.Sample{a}, 1},
	} {
		if got := p.seriesAdded(scrape.NewSeriesSet(tc.cur)); got != tc.want {
			t.Errorf("scrape %d: added %d, want %d", i, got, tc.want)
		}
	}
}

func TestPipeGoodbyeMarksTargetSeries(t *testing.T) {
	tl := scrape.Labels{{Name: "instance", Value: "h:1"}, {Name: "job", Value: "j"}}
	p := newPipe(nil, scrape.Limits{}, true, tl)
	if got := p.goodbye(5); len(got) != 0 {
		t.Fatalf("goodbye before any scrape: %v", got)
	}
	rep := p.reportSamples(scrape.Report{Up: true, Scraped: 3}, 10)
	if len(rep) != 5 || rep[0].Name != "up" || rep[0].Value != 1 {
		t.Fatalf("report: %+v", rep)
	}
	bye := p.goodbye(20)
	if len(bye) != 5 {
		t.Fatalf("%d markers", len(bye))
	}
	for i, m := range bye {
		if !scrape.IsStaleNaN(m.Value) || m.TimestampMs != 20 || m.Hash != rep[i].Hash {
			t.Errorf("marker %d: %+v", i, m)
		}
	}
	if off := newPipe(nil, scrape.Limits{}, false, tl); off.reportSamples(scrape.Report{Up: true}, 1) != nil {
		t.Error("target_series: false still reports")
	}
}
