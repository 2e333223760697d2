package datadog

import (
	"bytes"
	"testing"

	"github.com/promfwd/promfwd/scrape"
)

// TestRecycleReusesBody: a body handed back through Recycle becomes the
// buffer of the next request of its size; a body still held is untouched
// and every request still reaches the intake intact.
func TestRecycleReusesBody(t *testing.T) {
	h := newHarness(t, nil, options{})
	gauges := func(v float64) []scrape.Sample {
		out := make([]scrape.Sample, 300)
		for i := range out {
			out[i] = sample("recycle.gauge", scrape.KindGauge, nil, labels("i", string(rune('a'+i%26)), "n", string(rune('A'+i/26))), v, t0)
		}
		return out
	}
	a := h.push(gauges(1))
	held := h.push(gauges(2))
	want := bytes.Clone(held.Requests[0].Body)
	h.sink.Recycle(a.Requests[0].Body)
	b := h.push(gauges(3))
	if &b.Requests[0].Body[0] != &a.Requests[0].Body[0] {
		t.Error("the recycled body was not reused")
	}
	if !bytes.Equal(held.Requests[0].Body, want) {
		t.Fatal("encoding changed a body still held")
	}
	vals := h.values("recycle.gauge")
	if len(vals) != 900 || vals[0] != 1 || vals[300] != 2 || vals[600] != 3 {
		t.Fatalf("intake got %d values", len(vals))
	}
}
