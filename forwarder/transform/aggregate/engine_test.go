package aggregate

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// smp builds a sample; labels as "k=v" pairs.
func smp(name string, v float64, ts int64, kv ...string) scrape.Sample {
	var ls scrape.Labels
	for _, p := range kv {
		k, val, _ := strings.Cut(p, "=")
		ls = append(ls, scrape.Label{Name: k, Value: val})
	}
	slices.SortFunc(ls, func(a, b scrape.Label) int { return strings.Compare(a.Name, b.Name) })
	return scrape.Sample{Name: name, Labels: scrape.SetOf(ls), Value: v, TimestampMs: ts, Kind: scrape.KindCounter,
		Hash: scrape.SeriesHash(name, ls)}
}

// render prints samples as sorted "name{labels} ts=value kind" lines.
func render(ss []scrape.Sample) []string {
	var out []string
	for _, s := range ss {
		out = append(out, fmt.Sprintf("%s%s %d=%g %s", s.Name, s.Labels, s.TimestampMs, s.Value, s.Kind))
	}
	sort.Strings(out)
	return out
}

func mustNew(t *testing.T, lateness time.Duration, rules ...Rule) *Aggregator {
	t.Helper()
	a, err := New(rules, Options{MaxLateness: lateness})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

const sec = int64(1000)

func TestWindowsOutputsAndNames(t *testing.T) {
	a := mustNew(t, 5*time.Second, Rule{Match: `{__name__=~"req_.*"}`, Interval: time.Minute,
		Without: []string{"pod", "instance"}, Outputs: []string{"total", "increase", "sum", "count_series",
			"count_samples", "min", "max", "avg", "last", "quantiles(0.5, 1)"}})
	base := int64(1_800_000_000_000) // a minute boundary
	in := []scrape.Sample{
		smp("req_total", 10, base+1*sec, "instance=a", "env=prod"),
		smp("req_total", 100, base+1*sec, "instance=b", "env=prod"),
		smp("other", 1, base+1*sec, "instance=a"),
	}
	got := a.Apply(in, base+1*sec)
	if r := render(got); len(r) != 1 || !strings.HasPrefix(r[0], "other") {
		t.Fatalf("first scrape passes only the unmatched series, got %v", r)
	}
	a.Apply([]scrape.Sample{
		smp("req_total", 15, base+31*sec, "instance=a", "env=prod"),
		smp("req_total", 3, base+31*sec, "instance=b", "env=prod"), // reset: adds 3
	}, base+31*sec)
	// The next window's first sample; the first window is not due before 60s+5s.
	if out := a.Apply([]scrape.Sample{smp("req_total", 20, base+61*sec, "instance=a", "env=prod")}, base+61*sec); len(out) != 0 {
		t.Fatalf("window flushed before max_lateness: %v", render(out))
	}
	out := a.Apply(nil, base+65*sec)
	end := base + 60*sec
	p := "req_total:1m_without_instance_pod_"
	want := []string{
		fmt.Sprintf(`%savg{env="prod"} %d=32 gauge`, p, end),
		fmt.Sprintf(`%scount_samples{env="prod"} %d=4 delta`, p, end),
		fmt.Sprintf(`%scount_series{env="prod"} %d=2 delta`, p, end),
		fmt.Sprintf(`%sincrease{env="prod"} %d=8 delta`, p, end),
		fmt.Sprintf(`%slast{env="prod"} %d=3 gauge`, p, end), // ties: the later in input order
		fmt.Sprintf(`%smax{env="prod"} %d=100 gauge`, p, end),
		fmt.Sprintf(`%smin{env="prod"} %d=3 gauge`, p, end),
		fmt.Sprintf(`%squantiles{env="prod",quantile="0.5"} %d=12.5 gauge`, p, end),
		fmt.Sprintf(`%squantiles{env="prod",quantile="1"} %d=100 gauge`, p, end),
		fmt.Sprintf(`%ssum_samples{env="prod"} %d=128 gauge`, p, end),
		fmt.Sprintf(`%stotal{env="prod"} %d=8 counter`, p, end),
	}
	if g := render(out); !slices.Equal(g, want) {
		t.Fatalf("window outputs:\n got %s\nwant %s", strings.Join(g, "\n     "), strings.Join(want, "\n     "))
	}
	// Second window: instance a went 15 -> 20 (+5); b vanished. total keeps counting.
	out = a.Apply(nil, base+125*sec)
	for _, l := range render(out) {
		if strings.Contains(l, "_total{") && !strings.HasSuffix(l, fmt.Sprintf("%d=13 counter", base+120*sec)) {
			t.Errorf("second window total: %s, want 13", l)
		}
		if strings.Contains(l, "_increase{") && !strings.HasSuffix(l, "=5 delta") {
			t.Errorf("second window increase: %s, want 5", l)
		}
	}
}

func TestCounterGapAndReturn(t *testing.T) {
	a := mustNew(t, 0, Rule{Match: `c`, Interval: 10 * time.Second, Without: []string{"instance"}, Outputs: []string{"total", "increase"}})
	base := int64(1_800_000_000_000)
	var got []string
	feed := func(v float64, ts int64, inst string) {
		got = append(got, render(a.Apply([]scrape.Sample{smp("c", v, base+ts, "instance="+inst)}, base+ts))...)
	}
	feed(100, 1*sec, "a")  // baseline: adds 0
	feed(105, 11*sec, "a") // +5
	// a vanishes for two windows, b appears (baseline 50), a returns at 130: +25, then resets to 2: +2
	feed(50, 21*sec, "b")
	feed(130, 41*sec, "a")
	feed(2, 51*sec, "a")
	got = append(got, render(a.Apply(nil, base+70*sec))...)
	want := []string{
		"c:10s_without_instance_increase{} 1800000010000=0 delta",
		"c:10s_without_instance_total{} 1800000010000=0 counter",
		"c:10s_without_instance_increase{} 1800000020000=5 delta",
		"c:10s_without_instance_total{} 1800000020000=5 counter",
		"c:10s_without_instance_increase{} 1800000030000=0 delta",
		"c:10s_without_instance_total{} 1800000030000=5 counter",
		"c:10s_without_instance_increase{} 1800000050000=25 delta",
		"c:10s_without_instance_total{} 1800000050000=30 counter",
		"c:10s_without_instance_increase{} 1800000060000=2 delta",
		"c:10s_without_instance_total{} 1800000060000=32 counter",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

type countObs struct {
	nopObserver
	dropped map[string]int
}

func (o *countObs) Dropped(_ int, reason string, n int) { o.dropped[reason] += n }

func TestTooOldAndMaxOutputSeries(t *testing.T) {
	obs := &countObs{dropped: map[string]int{}}
	var warned []string
	a, err := New([]Rule{{Match: `g`, Interval: 10 * time.Second, By: []string{"k"}, Outputs: []string{"max", "min"}, MaxOutputSeries: 4}},
		Options{MaxLateness: 2 * time.Second, Observer: obs, Warn: func(_ int, m string) { warned = append(warned, m) }})
	if err != nil {
		t.Fatal(err)
	}
	base := int64(1_800_000_000_000)
	a.Apply([]scrape.Sample{smp("g", 1, base+1*sec, "k=a"), smp("g", 1, base+1*sec, "k=b"), smp("g", 1, base+1*sec, "k=c")}, base+1*sec)
	if obs.dropped[ReasonMaxOutputSeries] != 1 || len(warned) != 1 {
		t.Fatalf("third group (6 output series > 4): dropped %v, warned %v", obs.dropped, warned)
	}
	// 11s: window [0,10) still open (lateness 2s): a sample at 9s is in time.
	a.Apply([]scrape.Sample{smp("g", 7, base+9*sec, "k=a")}, base+11*sec)
	out := a.Apply(nil, base+12*sec)
	if g := render(out); len(g) != 4 || !strings.Contains(strings.Join(g, " "), `g:10s_by_k_max{k="a"} 1800000010000=7`) {
		t.Fatalf("flush: %v", g)
	}
	// 13s: the window is flushed; a sample for it is too old, not folded into [10,20).
	out = a.Apply([]scrape.Sample{smp("g", 9, base+9500, "k=a")}, base+13*sec)
	if len(out) != 0 || obs.dropped[ReasonTooOld] != 1 {
		t.Fatalf("late sample: out %v, dropped %v", render(out), obs.dropped)
	}
	if out := a.Apply(nil, base+30*sec); len(out) != 0 {
		t.Fatalf("too-old sample made a window: %v", render(out))
	}
}

func TestHistogramBucketsKeepLe(t *testing.T) {
	a := mustNew(t, 0, Rule{Match: `{__name__=~"h_.*"}`, Interval: 10 * time.Second, By: []string{"job"}, Outputs: []string{"increase"}})
	base := int64(1_800_000_000_000)
	for i, v := range []float64{0, 4} {
		ts := base + int64(i)*sec
		a.Apply([]scrape.Sample{
			smp("h_bucket", v, ts, "instance=a", "job=x", "le=1.0"), smp("h_bucket", 2*v, ts, "instance=a", "job=x", "le=+Inf"),
			smp("h_bucket", v, ts, "instance=b", "job=x", "le=1.0"), smp("h_bucket", 2*v, ts, "instance=b", "job=x", "le=+Inf"),
		}, ts)
	}
	got := render(a.Apply(nil, base+10*sec))
	want := []string{
		`h_bucket:10s_by_job_increase{job="x",le="+Inf"} 1800000010000=16 delta`,
		`h_bucket:10s_by_job_increase{job="x",le="1.0"} 1800000010000=8 delta`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSummaryQuantilesNeverSummed(t *testing.T) {
	obs := &countObs{dropped: map[string]int{}}
	a, _ := New([]Rule{{Match: `s`, Interval: 10 * time.Second, Without: []string{"instance"}, Outputs: []string{"sum", "max"}}}, Options{Observer: obs})
	base := int64(1_800_000_000_000)
	q := smp("s", 5, base, "instance=a", "quantile=0.99")
	q.Kind = scrape.KindSummaryQuantile
	q2 := smp("s", 7, base, "instance=b", "quantile=0.99")
	q2.Kind = scrape.KindSummaryQuantile
	a.Apply([]scrape.Sample{q, q2}, base)
	got := render(a.Apply(nil, base+10*sec))
	want := []string{
		`s:10s_without_instance_max{quantile="0.99"} 1800000010000=7 gauge`,
		`s:10s_without_instance_sum_samples{quantile="0.99"} 1800000010000=0 gauge`,
	}
	if !slices.Equal(got, want) || obs.dropped[ReasonSummaryQuantile] != 2 {
		t.Fatalf("got %v (dropped %v), want %v", got, obs.dropped, want)
	}
}

func TestKeepInputAndStaleMarkers(t *testing.T) {
	a := mustNew(t, 0, Rule{Match: `g`, Interval: 10 * time.Second, Outputs: []string{"last"}, KeepInput: true, KeepMetricNames: true})
	base := int64(1_800_000_000_000)
	in := []scrape.Sample{smp("g", 1, base, "i=a"), smp("g", math.Float64frombits(scrape.StaleNaN), base, "i=b")}
	if out := a.Apply(in, base); len(out) != 2 || &out[0] != &in[0] {
		t.Fatalf("keep_input passes the input unchanged, got %v", render(out))
	}
	got := render(a.Apply(nil, base+10*sec))
	if want := []string{`g{i="a"} 1800000010000=1 gauge`}; !slices.Equal(got, want) {
		t.Fatalf("keep_metric_names output: %v, want %v (stale marker not aggregated)", got, want)
	}
}

func TestRateSum(t *testing.T) {
	a := mustNew(t, 0, Rule{Match: `c`, Interval: time.Minute, Without: []string{"instance"}, Outputs: []string{"rate_sum"}})
	base := int64(1_800_000_000_000)
	// a: 0 at -10s (previous window), 10 at 10s, 40 at 40s: 40 over 50s = 0.8/s. b: 0 at 5s, 30 at 35s: 1/s.
	a.Apply([]scrape.Sample{smp("c", 0, base-10*sec, "instance=a")}, base-10*sec)
	a.Apply([]scrape.Sample{smp("c", 0, base+5*sec, "instance=b"), smp("c", 10, base+10*sec, "instance=a")}, base+10*sec)
	a.Apply([]scrape.Sample{smp("c", 30, base+35*sec, "instance=b"), smp("c", 40, base+40*sec, "instance=a")}, base+40*sec)
	got := render(a.Apply(nil, base+60*sec))
	if want := `c:1m_without_instance_rate_sum{} 1800000060000=1.8 gauge`; len(got) != 1 || got[0] != want {
		t.Fatalf("got %v, want [%s]", got, want)
	}
}
