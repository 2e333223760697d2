package datadog

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// TestLanesKeepSeriesInOneLane: with concurrency 4 the requests spread
// over 4 lanes, and every series (a histogram with all its parts) stays in
// one lane across batches, so two deltas of one counter are never in
// flight at once (the Runner sends one lane's requests in order).
func TestLanesKeepSeriesInOneLane(t *testing.T) {
	h := newHarness(t, nil, options{limits: limits{compressed: 512_000, uncompressed: 4000, points: 10_000}})
	if got := sinks.Lanes(h.sink, 4); got != 4 {
		t.Fatalf("Lanes = %d, want 4", got)
	}
	meta := &scrape.Meta{Family: "lat", Type: scrape.TypeHistogram}
	batch := func(ts time.Time, v float64) []scrape.Sample {
		var out []scrape.Sample
		for i := range 40 {
			out = append(out, sample("req_total", scrape.KindCounter, counterMeta, labels("pod", fmt.Sprint(i)), v*float64(i+1), ts))
		}
		for i := range 8 {
			out = append(out, histogram(meta, v, 2*v, 3*v, v, ts)...)
			for k := len(out) - 5; k < len(out); k++ {
				out[k].Labels = scrape.SetOf(out[k].Labels.AppendTo(scrape.Labels{{Name: "pod", Value: fmt.Sprint(i)}}))
				out[k].Hash = scrape.SeriesHash(out[k].Name, out[k].Labels.Labels())
			}
		}
		return out
	}
	laneOf := map[string]uint32{}
	used := map[uint32]bool{}
	for n, ts := range []time.Time{h.clock.Now(), h.clock.Now().Add(10 * time.Second)} {
		enc, err := h.sink.Encode(batch(ts, float64(n+1)))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range enc.Requests {
			used[r.Shard] = true
			for _, id := range seriesIDs(t, r.Body) {
				if l, ok := laneOf[id]; ok && l != r.Shard {
					t.Fatalf("series %s in lanes %d and %d", id, l, r.Shard)
				}
				laneOf[id] = r.Shard
			}
		}
	}
	if len(used) != 4 {
		t.Errorf("requests used lanes %v, want all 4", used)
	}
}

// seriesIDs lists metric|tags of every series in a gzip request body.
func seriesIDs(t *testing.T, body []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Series []struct {
			Metric string   `json:"metric"`
			Tags   []string `json:"tags"`
		} `json:"series"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range p.Series {
		out = append(out, fmt.Sprint(s.Metric, s.Tags))
	}
	return out
}
