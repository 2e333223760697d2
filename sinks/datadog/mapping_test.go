package datadog

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks/datadog/ddtest"
	"github.com/promfwd/promfwd/sinks/jsonw"
)

func TestCounterDeltasOverHTTP(t *testing.T) {
	h := newHarness(t, nil, options{})
	values := []float64{10, 15, 15, 40, 41}
	for i, v := range values {
		h.clock.Advance(15 * time.Second)
		h.push([]scrape.Sample{counter(v, h.clock.Now())})
		if i == 0 && len(h.rcv.Requests()) != 0 {
			t.Fatal("first observation sent a request")
		}
	}
	got := h.findSeries("requests_total")
	want := []float64{5, 0, 25, 1}
	if len(got) != len(want) {
		t.Fatalf("got %d series, want %d: %+v", len(got), len(want), got)
	}
	for i, s := range got {
		if s.Type != typeCount || s.Interval != 15 || *s.Points[0].Value != want[i] {
			t.Errorf("delta %d: type %d interval %d value %v, want count/15/%v", i, s.Type, s.Interval, *s.Points[0].Value, want[i])
		}
		if ts := *s.Points[0].Timestamp; ts != t0.Add(time.Duration(i+2)*15*time.Second).Unix() {
			t.Errorf("delta %d: timestamp %d", i, ts)
		}
		if v, _ := s.Tag("code"); v != "200" || s.Host() != "host-a" {
			t.Errorf("delta %d: tags %v host %q", i, s.Tags, s.Host())
		}
	}
}

func TestCounterResetNeverNegative(t *testing.T) {
	h := newHarness(t, nil, options{})
	for _, v := range []float64{100, 120, 5, 8, 2} {
		h.clock.Advance(10 * time.Second)
		h.push([]scrape.Sample{counter(v, h.clock.Now())})
	}
	if got, want := h.values("requests_total"), []float64{20, 5, 3, 2}; !slices.Equal(got, want) {
		t.Fatalf("deltas %v, want %v", got, want)
	}
}

func TestCounterEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		steps []struct {
			v       float64
			advance time.Duration // of the sample timestamp; the clock moves 10s each step
		}
		want []float64
	}{
		{"repeated sample is not a zero delta", []struct {
			v       float64
			advance time.Duration
		}{{1, 10 * time.Second}, {1, 0}, {4, 10 * time.Second}}, []float64{3}},
		{"out of order sample is skipped", []struct {
			v       float64
			advance time.Duration
		}{{1, 10 * time.Second}, {5, 10 * time.Second}, {3, -5 * time.Second}, {9, 10 * time.Second}}, []float64{4, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil, options{})
			ts := t0
			for _, st := range tc.steps {
				h.clock.Advance(10 * time.Second)
				ts = ts.Add(st.advance)
				h.push([]scrape.Sample{counter(st.v, ts)})
			}
			if got := h.values("requests_total"); !slices.Equal(got, tc.want) {
				t.Fatalf("deltas %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStaleMarkerClearsState(t *testing.T) {
	h := newHarness(t, nil, options{})
	for _, v := range []float64{10, math.Float64frombits(scrape.StaleNaN), 15, 17} {
		h.clock.Advance(10 * time.Second)
		enc := h.push([]scrape.Sample{counter(v, h.clock.Now())})
		if enc.Dropped != 0 {
			t.Fatalf("stale marker counted as dropped")
		}
	}
	if got, want := h.values("requests_total"), []float64{2}; !slices.Equal(got, want) {
		t.Fatalf("deltas %v, want %v (15 restarts the series after the stale marker)", got, want)
	}
}

func TestCounterStateTTL(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CounterStateTTL = time.Hour }, options{})
	step := func(v float64, advance time.Duration) {
		h.clock.Advance(advance)
		h.push([]scrape.Sample{counter(v, h.clock.Now())})
	}
	step(10, 0)
	step(15, 30*time.Second)
	step(20, 61*time.Minute) // state expired: a first observation again
	if h.sink.deltas.len() != 1 {
		t.Fatalf("state holds %d series, want 1", h.sink.deltas.len())
	}
	step(26, 15*time.Second)
	if got, want := h.values("requests_total"), []float64{5, 6}; !slices.Equal(got, want) {
		t.Fatalf("deltas %v, want %v", got, want)
	}
	// A series unseen for longer than the TTL is swept from memory.
	other := sample("other_total", scrape.KindCounter, nil, nil, 1, h.clock.Now())
	h.push([]scrape.Sample{other})
	h.clock.Advance(2 * time.Hour)
	h.push([]scrape.Sample{counter(1, h.clock.Now())})
	if n := h.sink.deltas.len(); n != 1 {
		t.Fatalf("after sweep the state holds %d series, want 1", n)
	}
}

func TestGaugesPassThrough(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Namespace = "scout"
		c.Tags = []string{"env:prod", "team"}
	}, options{}, func(o *ddtest.Options) { o.AllowReservedTags = []string{"env"} })
	meta := &scrape.Meta{Family: "vulns", Type: scrape.TypeGauge}
	now := h.clock.Now()
	enc := h.push([]scrape.Sample{
		sample("vulns", scrape.KindGauge, meta, labels("quote", `a"b`, "severity", "high"), 4, now),
		sample("vulns", scrape.KindGauge, meta, labels("severity", "low"), -2.5, now),
		sample("up", scrape.KindUntyped, nil, nil, 1, now),
		sample("bad", scrape.KindGauge, nil, nil, math.NaN(), now),
		sample("inf", scrape.KindGauge, nil, nil, math.Inf(1), now),
		sample("old", scrape.KindGauge, nil, nil, 1, now.Add(-2*time.Hour)),
		sample("stale", scrape.KindGauge, nil, nil, math.Float64frombits(scrape.StaleNaN), now),
	})
	if enc.Dropped != 3 {
		t.Errorf("Dropped = %d, want 3 (NaN, Inf, out of window)", enc.Dropped)
	}
	got := h.rcv.Series()
	if len(got) != 3 {
		t.Fatalf("got %d series: %+v", len(got), got)
	}
	want := []struct {
		metric string
		value  float64
		tags   []string
	}{
		{"scout.vulns", 4, []string{"env:prod", "team", "quote:a_b", "severity:high"}},
		{"scout.vulns", -2.5, []string{"env:prod", "team", "severity:low"}},
		{"scout.up", 1, []string{"env:prod", "team"}},
	}
	for i, w := range want {
		s := got[i]
		if s.Metric != w.metric || s.Type != typeGauge || *s.Points[0].Value != w.value || !slices.Equal(s.Tags, w.tags) || s.Interval != 0 {
			t.Errorf("series %d = %+v, want %+v", i, s, w)
		}
		if *s.Points[0].Timestamp != now.Unix() {
			t.Errorf("series %d timestamp %d, want %d", i, *s.Points[0].Timestamp, now.Unix())
		}
	}
}

func TestHistogramBucketsUpperBound(t *testing.T) {
	h := newHarness(t, nil, options{})
	meta := &scrape.Meta{Family: "latency_seconds", Type: scrape.TypeHistogram}
	h.push(histogram(meta, 1, 3, 4, 2.5, h.clock.Now()))
	h.clock.Advance(30 * time.Second)
	h.push(histogram(meta, 2, 7, 10, 6, h.clock.Now()))

	for _, tc := range []struct {
		metric string
		tags   []string
		want   float64
	}{
		{"latency_seconds.count", []string{"upper_bound:0.1", "path:/x"}, 1},
		{"latency_seconds.count", []string{"upper_bound:1.0", "path:/x"}, 4},
		{"latency_seconds.count", []string{"upper_bound:none", "path:/x"}, 6},
		{"latency_seconds.sum", []string{"path:/x"}, 3.5},
	} {
		ss := h.findSeries(tc.metric, tc.tags...)
		if len(ss) != 1 || *ss[0].Points[0].Value != tc.want || ss[0].Type != typeCount || ss[0].Interval != 30 {
			t.Errorf("%s %v: got %+v, want one count of %v", tc.metric, tc.tags, ss, tc.want)
		}
		for _, s := range ss {
			if _, ok := s.Tag("le"); ok {
				t.Errorf("le label leaked into tags: %v", s.Tags)
			}
		}
	}
	if n := len(h.rcv.Series()); n != 4 {
		t.Errorf("got %d series, want 4 (the +Inf bucket travels as _count with upper_bound:none)", n)
	}
}

func TestSummaryQuantiles(t *testing.T) {
	h := newHarness(t, nil, options{})
	meta := &scrape.Meta{Family: "rpc", Type: scrape.TypeSummary}
	group := func(q50, sum, count float64) []scrape.Sample {
		now := h.clock.Now()
		return []scrape.Sample{
			sample("rpc", scrape.KindSummaryQuantile, meta, labels("quantile", "0.5"), q50, now),
			sample("rpc", scrape.KindSummaryQuantile, meta, labels("quantile", "1"), q50*2, now),
			sample("rpc_sum", scrape.KindSummarySum, meta, nil, sum, now),
			sample("rpc_count", scrape.KindSummaryCount, meta, nil, count, now),
		}
	}
	h.push(group(0.2, 10, 100))
	h.clock.Advance(time.Minute)
	h.push(group(0.3, 12, 110))
	if got := h.findSeries("rpc.quantile", "quantile:0.5"); len(got) != 2 || got[0].Type != typeGauge || *got[1].Points[0].Value != 0.3 {
		t.Errorf("quantile 0.5: %+v", got)
	}
	if got := h.findSeries("rpc.quantile", "quantile:1.0"); len(got) != 2 {
		t.Errorf("quantile 1.0: %+v", got)
	}
	if got := h.values("rpc.sum"); !slices.Equal(got, []float64{2}) {
		t.Errorf("rpc.sum deltas %v", got)
	}
	if got := h.values("rpc.count"); !slices.Equal(got, []float64{10}) {
		t.Errorf("rpc.count deltas %v", got)
	}
}

func TestSendCountersAsGauge(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SendCountersAs = CountersAsGauge }, options{})
	h.push([]scrape.Sample{counter(10, h.clock.Now())})
	h.clock.Advance(time.Minute)
	h.push([]scrape.Sample{counter(7, h.clock.Now())})
	got := h.findSeries("requests_total")
	if len(got) != 2 || got[0].Type != typeGauge || *got[0].Points[0].Value != 10 || *got[1].Points[0].Value != 7 {
		t.Fatalf("got %+v", got)
	}
	if h.sink.deltas.len() != 0 {
		t.Error("gauge mode keeps counter state")
	}
}

func TestEscapeName(t *testing.T) {
	long := "a"
	for len(long) < 250 {
		long += "bcdefghij"
	}
	for _, tc := range []struct{ in, want string }{
		{"http_requests_total", "http_requests_total"},
		{"ns.metric", "ns.metric"},
		{"a-b c/d", "a_b_c_d"},
		{"héllo", "h_llo"},
		{"_private", "private"},
		{"9lives", "lives"},
		{"__", ""},
		{"😀x", "x"},
		{long, long[:200]},
		{"a" + string(rune(0x263a)) + long, ("a_" + long)[:200]},
	} {
		if got := escapeName(tc.in); got != tc.want {
			t.Errorf("escapeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatBound(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1", "1.0"}, {"1.0", "1.0"}, {"0.005", "0.005"}, {"2.5", "2.5"}, {"+Inf", "none"},
		{"-Inf", "-inf"}, {"0", "0.0"}, {"0.00001", "1e-05"}, {"1e16", "1e+16"}, {"10000", "10000.0"},
		{"0.0001", "0.0001"}, {"-1", "-1.0"}, {"abc", "abc"},
	} {
		if got := formatBound(tc.in); got != tc.want {
			t.Errorf("formatBound(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestBaseName(t *testing.T) {
	hist := &scrape.Meta{Family: "lat", Type: scrape.TypeHistogram}
	ghist := &scrape.Meta{Family: "q", Type: scrape.TypeGaugeHistogram}
	for _, tc := range []struct {
		s    scrape.Sample
		want string
	}{
		{scrape.Sample{Name: "x_total", Kind: scrape.KindCounter}, "x_total"},
		{scrape.Sample{Name: "lat_bucket", Kind: scrape.KindHistogramBucket, Meta: hist}, "lat.count"},
		{scrape.Sample{Name: "lat_sum", Kind: scrape.KindHistogramSum, Meta: hist}, "lat.sum"},
		{scrape.Sample{Name: "lat_count", Kind: scrape.KindHistogramCount}, "lat.count"},
		{scrape.Sample{Name: "lat_bucket", Kind: scrape.KindHistogramBucket}, "lat.count"},
		{scrape.Sample{Name: "q_gcount", Kind: scrape.KindHistogramCount, Meta: &scrape.Meta{Type: scrape.TypeGaugeHistogram}}, "q.count"},
		{scrape.Sample{Name: "q_gsum", Kind: scrape.KindHistogramSum, Meta: ghist}, "q.sum"},
		{scrape.Sample{Name: "rpc", Kind: scrape.KindSummaryQuantile}, "rpc.quantile"},
		{scrape.Sample{Name: "rpc_sum", Kind: scrape.KindSummarySum}, "rpc.sum"},
	} {
		if got := baseName(&tc.s); got != tc.want {
			t.Errorf("baseName(%s/%s) = %q, want %q", tc.s.Name, tc.s.Kind, got, tc.want)
		}
	}
}

func TestJSONString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", `"plain"`},
		{"q\"b\\s", `"q\"b\\s"`},
		{"nl\n\t\r\x01", `"nl\n\t\r\u0001"`},
		{"ünï", `"ünï"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
	} {
		if got := string(jsonw.AppendString(nil, tc.in)); got != tc.want {
			t.Errorf("jsonw.AppendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// An aggregation's interval count (increase, count_series) is sent as a
// count point with its value as is, on every flush, never differenced
// like a cumulative counter.
func TestIntervalCountsSentAsIs(t *testing.T) {
	h := newHarness(t, nil, options{})
	meta := &scrape.Meta{Family: "req:5m_without_instance_increase", Type: scrape.TypeGauge, WindowSec: 300}
	now := h.clock.Now()
	h.push([]scrape.Sample{sample("req:5m_without_instance_increase", scrape.KindDelta, meta, nil, 5, now)})
	h.push([]scrape.Sample{sample("req:5m_without_instance_increase", scrape.KindDelta, meta, nil, 5, now.Add(time.Minute))})
	got := h.rcv.Series()
	if len(got) != 2 {
		t.Fatalf("got %d series, want 2: %+v", len(got), got)
	}
	for i, s := range got {
		if s.Type != typeCount || *s.Points[0].Value != 5 || s.Interval != 300 {
			t.Errorf("point %d = type %d value %v interval %d, want count 5 over the 300s window", i, s.Type, *s.Points[0].Value, s.Interval)
		}
	}
}
