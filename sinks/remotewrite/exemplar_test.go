package remotewrite

import (
	"reflect"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// exSink is an encoding-only sink with send_exemplars set as given.
func exSink(t *testing.T, send bool) *Sink {
	t.Helper()
	cfg := DefaultConfig()
	cfg.URL = "http://127.0.0.1:1/api/v1/write"
	cfg.Metadata.Send = false
	cfg.SendExemplars = send
	s, err := New(cfg, sinks.Settings{Name: "rw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// exBatch is a counter with a timestamped exemplar and a histogram whose
// le="1" bucket has an exemplar without one, as the parser yields them:
// the exemplars live on the family's Meta, ExemplarRef points at them.
func exBatch(ts int64, counterEx, bucketEx scrape.Exemplar) []scrape.Sample {
	cmeta := &scrape.Meta{Family: "jobs", Type: scrape.TypeCounter, Exemplars: []scrape.Exemplar{counterEx}}
	c := smp("jobs_total", ts, 4, "q", "a")
	c.Kind, c.Meta, c.ExemplarRef = scrape.KindCounter, cmeta, 1
	hmeta := &scrape.Meta{Family: "lat", Type: scrape.TypeHistogram, Exemplars: []scrape.Exemplar{bucketEx}}
	h := histogram(hmeta, ts, 1)
	h[1].ExemplarRef = 1 // le="1"
	return append([]scrape.Sample{c}, h...)
}

func exLabels(kv ...string) scrape.Labels {
	var ls scrape.Labels
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, scrape.Label{Name: kv[i], Value: kv[i+1]})
	}
	return ls
}

// exemplarsOf maps each series' __name__ and le to its exemplars.
func exemplarsOf(series []wireSeries) map[string][]wireExemplar {
	out := map[string][]wireExemplar{}
	for _, s := range series {
		key := ""
		for _, l := range s.Labels {
			if l.Name == "__name__" || l.Name == "le" {
				key += l.Value + " "
			}
		}
		if len(s.Exemplars) > 0 {
			out[key] = s.Exemplars
		}
	}
	return out
}

func encodeExemplars(t *testing.T, s *Sink, batch []scrape.Sample) map[string][]wireExemplar {
	t.Helper()
	enc, err := s.Encode(batch)
	if err != nil {
		t.Fatal(err)
	}
	var all []wireSeries
	for _, r := range enc.Requests {
		all = append(all, decodeBody(t, r.Body)...)
	}
	return exemplarsOf(all)
}

func TestEncodeExemplars(t *testing.T) {
	cex := scrape.Exemplar{Labels: exLabels("span_id", "s1", "trace_id", "t1"), Value: 1, TimestampMs: 1_700_000_000_123, HasTimestamp: true}
	bex := scrape.Exemplar{Labels: exLabels("trace_id", "t2"), Value: 0.5}

	s := exSink(t, true)
	got := encodeExemplars(t, s, exBatch(5000, cex, bex))
	want := map[string][]wireExemplar{
		"jobs_total ": {{Labels: lbl("span_id", "s1", "trace_id", "t1"), Bits: v(1), TS: 1_700_000_000_123}},
		// No exemplar timestamp: it takes the sample's, as Prometheus' scrape does.
		"lat_bucket 1 ": {{Labels: lbl("trace_id", "t2"), Bits: v(0.5), TS: 5000}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("exemplars:\n got %+v\nwant %+v", got, want)
	}

	// The next scrape repeats both exemplars (the bucket's under a new
	// sample timestamp): the receiver has them already, as a Prometheus
	// agent would not forward them again, so none is sent.
	if got := encodeExemplars(t, s, exBatch(6000, cex, bex)); len(got) != 0 {
		t.Fatalf("repeated exemplars sent again: %+v", got)
	}
	// A new observation (new value, or a new timestamp) is sent.
	cex2 := cex
	cex2.TimestampMs += 1000
	bex2 := bex
	bex2.Value = 0.7
	got = encodeExemplars(t, s, exBatch(7000, cex2, bex2))
	want = map[string][]wireExemplar{
		"jobs_total ":   {{Labels: lbl("span_id", "s1", "trace_id", "t1"), Bits: v(1), TS: 1_700_000_001_123}},
		"lat_bucket 1 ": {{Labels: lbl("trace_id", "t2"), Bits: v(0.7), TS: 7000}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("new exemplars:\n got %+v\nwant %+v", got, want)
	}
}

func TestEncodeNoExemplarsWhenNotAsked(t *testing.T) {
	cex := scrape.Exemplar{Labels: exLabels("trace_id", "t1"), Value: 1, TimestampMs: 1, HasTimestamp: true}
	s := exSink(t, false)
	if s.SendsExemplars() {
		t.Fatal("SendsExemplars() = true with send_exemplars false")
	}
	if got := encodeExemplars(t, s, exBatch(5000, cex, cex)); len(got) != 0 {
		t.Fatalf("send_exemplars: false sent exemplars: %+v", got)
	}
}

func TestEncodeExemplarsOfOneSeriesInTimeOrder(t *testing.T) {
	// Two scrapes of one series in one batch, each with its own exemplar:
	// one TimeSeries carries both, oldest first (Prometheus' receiver
	// appends them in that order).
	s := exSink(t, true)
	mk := func(ts int64, trace string) scrape.Sample {
		m := &scrape.Meta{Family: "jobs", Type: scrape.TypeCounter,
			Exemplars: []scrape.Exemplar{{Labels: exLabels("trace_id", trace), Value: 1}}}
		c := smp("jobs_total", ts, float64(ts), "q", "a")
		c.Kind, c.Meta, c.ExemplarRef = scrape.KindCounter, m, 1
		return c
	}
	got := encodeExemplars(t, s, []scrape.Sample{mk(2000, "b"), mk(1000, "a")})
	want := map[string][]wireExemplar{"jobs_total ": {
		{Labels: lbl("trace_id", "a"), Bits: v(1), TS: 1000},
		{Labels: lbl("trace_id", "b"), Bits: v(1), TS: 2000},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("exemplars:\n got %+v\nwant %+v", got, want)
	}
}

func TestExemplarMemoForgetsAfterTwoWindows(t *testing.T) {
	var m exMemo
	ex := &scrape.Exemplar{Value: 1}
	t0 := time.Unix(1_700_000_000, 0)
	m.rotate(t0)
	for i := range uint64(1000) {
		if !m.fresh(i, ex) {
			t.Fatalf("series %d: first exemplar not fresh", i)
		}
	}
	// One window on, series 0 is seen again (kept alive); the others are not.
	m.rotate(t0.Add(exMemoWindow))
	if m.fresh(0, ex) {
		t.Fatal("series 0: repeated exemplar sent again within the window")
	}
	m.rotate(t0.Add(2 * exMemoWindow))
	if n := len(m.cur) + len(m.prev); n != 1 {
		t.Fatalf("memo holds %d series after two windows, want 1 (the one still seen)", n)
	}
	if m.fresh(0, ex) {
		t.Fatal("series 0: kept-alive exemplar forgotten")
	}
	if !m.fresh(1, ex) {
		t.Fatal("series 1: not forgotten after two windows")
	}
}
