package state

import (
	"testing"

	"github.com/promfwd/promfwd/scrape"
)

func TestStaleMarkerCarriesNoExemplar(t *testing.T) {
	meta := &scrape.Meta{Family: "jobs", Type: scrape.TypeCounter,
		Exemplars: []scrape.Exemplar{{Labels: scrape.Labels{{Name: "trace_id", Value: "t"}}, Value: 1}}}
	s := scrape.Sample{Name: "jobs_total", Value: 3, TimestampMs: 1000, Kind: scrape.KindCounter,
		Meta: meta, ExemplarRef: 1, Hash: scrape.SeriesHash("jobs_total", nil)}
	st := NewStaleness()
	st.Observe([]scrape.Sample{s}, 1000)
	markers := st.Observe(nil, 2000)
	if len(markers) != 1 {
		t.Fatalf("got %d stale markers, want 1", len(markers))
	}
	if e := markers[0].Exemplar(); e != nil {
		t.Fatalf("stale marker carries the exemplar %+v", e)
	}
}
