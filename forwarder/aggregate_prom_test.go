package forwarder

// Exactness of stream aggregation against the real Prometheus (issue 13):
// promfwd writes the raw series (keep_input) and its aggregates through
// remote-write; every aggregate at every window end must equal the PromQL
// over the raw series for the same window, and increase/total the exact
// increase computed from the raw samples Prometheus stored.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/remotewrite/promtest"
)

const aggWin = 3 * time.Second

// promPoint is one sample read back from Prometheus.
type promPoint struct {
	ms int64
	v  float64
}

// promSeries evaluates an expression at `at` and returns each series'
// labels and samples (one for an instant vector).
func promSeries(t *testing.T, prom *promtest.Server, expr string, at time.Time) []promSerie {
	t.Helper()
	q := url.Values{"query": {expr}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, prom.URL+"/api/v1/query?"+q.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Status string
		Error  string
		Data   struct {
			ResultType string
			Result     []struct {
				Metric map[string]string
				Values [][2]any
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %s: %v %s", expr, err, body.Error)
	}
	var out []promSerie
	for _, r := range body.Data.Result {
		vals := r.Values
		if body.Data.ResultType == "vector" {
			vals = [][2]any{r.Value}
		}
		s := promSerie{ls: r.Metric}
		for _, p := range vals {
			v, _ := strconv.ParseFloat(p[1].(string), 64)
			s.pts = append(s.pts, promPoint{ms: int64(math.Round(p[0].(float64) * 1000)), v: v})
		}
		out = append(out, s)
	}
	return out
}

type promSerie struct {
	ls  map[string]string
	pts []promPoint
}

// promMatrix is promSeries keyed by the labels without __name__ (and
// without the labels in drop).
func promMatrix(t *testing.T, prom *promtest.Server, expr string, at time.Time, drop ...string) map[string][]promPoint {
	t.Helper()
	out := map[string][]promPoint{}
	for _, s := range promSeries(t, prom, expr, at) {
		k := labelKey(s.ls, drop...)
		out[k] = append(out[k], s.pts...)
	}
	return out
}

func labelKey(ls map[string]string, drop ...string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ls)) {
		if k != "__name__" && !slices.Contains(drop, k) {
			parts = append(parts, fmt.Sprintf("%s=%q", k, ls[k]))
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// aggBody is target i's exposition at scrape n: two counters that reset
// at different periods, a gauge and a histogram.
func aggBody(i int) func(n int) string {
	return func(n int) string {
		c200 := float64((n%(5+i))*(i+2) + n%2) // resets every 5+i scrapes
		c500 := float64(n/3 + i)
		temp := 20 + float64((n*7+i*3)%11)/2
		var b strings.Builder
		fmt.Fprintf(&b, "# TYPE ex_requests_total counter\nex_requests_total{code=\"200\"} %g\nex_requests_total{code=\"500\"} %g\n", c200, c500)
		fmt.Fprintf(&b, "# TYPE ex_temp gauge\nex_temp{room=\"lab\"} %g\n", temp)
		fmt.Fprintf(&b, "# TYPE ex_lat_seconds histogram\nex_lat_seconds_bucket{le=\"0.5\"} %d\nex_lat_seconds_bucket{le=\"+Inf\"} %d\nex_lat_seconds_sum %g\nex_lat_seconds_count %d\n",
			n*(i+1), n*(i+2), float64(n)/4, n*(i+2))
		return b.String()
	}
}

func TestAggregateExactAgainstPrometheus(t *testing.T) {
	prom := promtest.Start(t)
	var targets []*e2eTarget
	var sources strings.Builder
	for i := range 3 {
		tg := newE2ETarget(t, aggBody(i))
		targets = append(targets, tg)
		fmt.Fprintf(&sources, "  - name: app%d\n    url: %s\n    interval: 1s\n    timeout: 1s\n    labels: {job: app}\n", i, tg.URL())
	}
	cfg := fmt.Sprintf(`shutdown_timeout: 20s
server: { listen: "" }
sources:
%ssinks:
  - name: prom
    type: remote_write
    url: %s
    flush_interval: 100ms
    resend_after: 0s
    aggregate:
      - match: '{__name__=~"ex_requests_total|ex_lat_seconds_bucket"}'
        interval: 3s
        without: [instance]
        outputs: [total, increase, count_series, count_samples]
        keep_input: true
        max_lateness: 2s
      - match: ex_temp
        interval: 3s
        without: [instance]
        outputs: [sum, max, min, avg, count_series]
        keep_input: true
        max_lateness: 2s
      - match: ex_temp
        interval: 3s
        without: [job]
        outputs: [last, quantiles(0.5, 0.9)]
        keep_input: true
        max_lateness: 2s
      - match: ex_requests_total
        interval: 3s
        without: [instance]
        outputs: [rate_sum, rate_avg]
        keep_input: true
        max_lateness: 2s
`, sources.String(), prom.WriteURL)
	svc := startE2E(t, cfg)
	// A target counts a scrape when it answers; the forwarder may still be
	// parsing that answer, so also wait until rule 0 took 14 scrapes' worth.
	pollFor(t, 90*time.Second, "14 scrapes of every target, aggregated", func() bool {
		return targets[0].Scrapes() >= 14 && targets[1].Scrapes() >= 14 && targets[2].Scrapes() >= 14 &&
			svc.metric(t, "promfwd_aggregate_input_samples_total", map[string]string{"sink": "prom", "rule": "0"}) >= 3*6*14
	})
	svc.Stop(t) // flushes the open windows (no data_dir)
	for _, reason := range []string{"too_old", "out_of_order", "max_output_series"} {
		if n := svc.metric(t, "promfwd_aggregate_samples_dropped_total", map[string]string{"reason": reason}); n != 0 {
			t.Errorf("aggregation dropped %v samples as %s", n, reason)
		}
	}
	if n := svc.metric(t, "promfwd_sink_requests_total", map[string]string{"sink": "prom", "outcome": "permanent_error"}); n != 0 {
		t.Fatalf("Prometheus rejected %v requests", n)
	}
	// Self-metrics per rule: 3 sources x 6 series (2 counters, the
	// histogram's 2 buckets and, with them, its _sum and _count) x 14+
	// scrapes into rule 0; 2 counter groups, 2 bucket groups, the _sum and
	// the _count group, x 4 outputs.
	if n := svc.metric(t, "promfwd_aggregate_input_samples_total", map[string]string{"sink": "prom", "rule": "0"}); n < 3*6*14 {
		t.Errorf("rule 0 input samples = %v, want >= %d", n, 3*6*14)
	}
	if n := svc.metric(t, "promfwd_aggregate_output_series", map[string]string{"sink": "prom", "rule": "0"}); n != 24 {
		t.Errorf("rule 0 output series = %v, want 24", n)
	}
	// The last window was flushed at shutdown, stamped with its end (ahead of now).
	end := time.Now().Add(aggWin)
	checked := 0
	// check compares the aggregate series `name` at each of its window
	// ends E with the PromQL expr evaluated at E-1ms over [3s], which
	// covers exactly the window [E-3s, E) (range selectors are left-open).
	check := func(name, expr string, drop ...string) {
		t.Helper()
		got := promMatrix(t, prom, name+"[10m]", end, drop...)
		if len(got) == 0 {
			t.Errorf("%s: no aggregate in Prometheus", name)
		}
		for k, pts := range got {
			for _, p := range pts {
				want := promMatrix(t, prom, strings.ReplaceAll(expr, "WIN", "3s"), time.UnixMilli(p.ms-1), drop...)
				w, ok := want[k]
				if !ok || len(w) != 1 || math.Abs(w[0].v-p.v) > 1e-9*math.Max(1, math.Abs(p.v)) {
					t.Errorf("%s%s at %d = %v; PromQL %s = %v", name, k, p.ms, p.v, expr, w)
				}
				checked++
			}
		}
	}
	check("ex_temp:3s_without_instance_sum_samples", `sum without(instance) (sum_over_time(ex_temp[WIN]))`)
	check("ex_temp:3s_without_instance_max", `max without(instance) (max_over_time(ex_temp[WIN]))`)
	check("ex_temp:3s_without_instance_min", `min without(instance) (min_over_time(ex_temp[WIN]))`)
	check("ex_temp:3s_without_instance_avg", `sum without(instance) (sum_over_time(ex_temp[WIN])) / sum without(instance) (count_over_time(ex_temp[WIN]))`)
	check("ex_temp:3s_without_instance_count_series", `count without(instance) (count_over_time(ex_temp[WIN]))`)
	check("ex_temp:3s_without_job_last", `last_over_time(ex_temp[WIN])`, "job")
	for _, phi := range []string{"0.5", "0.9"} {
		check(fmt.Sprintf(`ex_temp:3s_without_job_quantiles{quantile=%q}`, phi), fmt.Sprintf(`quantile_over_time(%s, ex_temp[WIN])`, phi), "job", "quantile")
	}
	// The rule matches ex_lat_seconds_bucket: the histogram's _sum and
	// _count are aggregated with it.
	for _, m := range []string{"ex_requests_total", "ex_lat_seconds_bucket", "ex_lat_seconds_sum", "ex_lat_seconds_count"} {
		check(m+":3s_without_instance_count_series", `count without(instance) (count_over_time(`+m+`[WIN]))`)
		check(m+":3s_without_instance_count_samples", `sum without(instance) (count_over_time(`+m+`[WIN]))`)
		checked += checkIncrease(t, prom, m, end)
	}
	checked += checkRateSum(t, prom, "ex_requests_total", end)
	t.Logf("%d aggregate points equal PromQL / the raw samples", checked)
}

// checkIncrease compares increase and total with the exact increase from
// the raw samples Prometheus holds: per series, each sample adds its rise
// over the previous sample (its whole value after a reset; the first
// sample adds 0), in the window its timestamp falls in. PromQL's
// increase() is not the reference here: it extrapolates to the window's
// edges and ignores the rise from the last sample before the window, so it
// differs by design (logged for comparison).
func checkIncrease(t *testing.T, prom *promtest.Server, metric string, end time.Time) int {
	t.Helper()
	win := aggWin.Milliseconds()
	exact := map[string]map[int64]float64{} // group -> window end -> increase
	for _, s := range promSeries(t, prom, metric+"[10m]", end) {
		g, pts := labelKey(s.ls, "instance"), s.pts
		if exact[g] == nil {
			exact[g] = map[int64]float64{}
		}
		for i := range pts {
			d := 0.0
			if i > 0 {
				d = pts[i].v - pts[i-1].v
				if d < 0 {
					d = pts[i].v
				}
			}
			e := (pts[i].ms/win + 1) * win
			exact[g][e] += d
		}
	}
	n := 0
	inc := promMatrix(t, prom, metric+":3s_without_instance_increase[10m]", end)
	tot := promMatrix(t, prom, metric+":3s_without_instance_total[10m]", end)
	for g, ends := range exact {
		if len(inc[g]) != len(ends) || len(tot[g]) != len(ends) {
			t.Errorf("%s%s: %d increase and %d total points (%v), want %d windows (%v)", metric, g, len(inc[g]), len(tot[g]), inc[g], len(ends), ends)
			continue
		}
		running := 0.0
		for i, p := range inc[g] {
			running += ends[p.ms]
			if p.v != ends[p.ms] || tot[g][i].ms != p.ms || tot[g][i].v != running {
				t.Errorf("%s%s at %d: increase %v total %v, want %v and %v", metric, g, p.ms, p.v, tot[g][i].v, ends[p.ms], running)
			}
			n += 2
		}
		mid := inc[g][len(inc[g])/2] // a full window (the last is cut by the shutdown)
		t.Logf("%s%s: total %v; window ending %d: increase %v (exact), PromQL sum(increase(%s[3s])) %v (extrapolated)", metric, g, running, mid.ms, mid.v, metric,
			promMatrix(t, prom, fmt.Sprintf("sum without(instance) (increase(%s[3s]))", metric), time.UnixMilli(mid.ms-1))[g])
	}
	return n
}

// checkRateSum compares rate_sum and rate_avg with the rate computed from
// the raw samples Prometheus holds: per series and window, its increase in
// the window (as checkIncrease counts it) over the time from the series'
// previous sample (before the window; its first sample ever for a new
// series) to its last sample in the window; summed over the group's
// series (rate_avg: divided by the number of series with a rate). A series
// with one sample ever (its baseline) has no rate.
// PromQL's rate() extrapolates to the window's edges, so it is not the
// reference (logged for comparison).
func checkRateSum(t *testing.T, prom *promtest.Server, metric string, end time.Time) int {
	t.Helper()
	win := aggWin.Milliseconds()
	type acc struct {
		delta      float64
		from, last int64
	}
	exact := map[string]map[int64]float64{} // group -> window end -> rate_sum
	rated := map[string]map[int64]int{}     // group -> window end -> series with a rate
	for _, s := range promSeries(t, prom, metric+"[10m]", end) {
		g, pts := labelKey(s.ls, "instance"), s.pts
		if exact[g] == nil {
			exact[g], rated[g] = map[int64]float64{}, map[int64]int{}
		}
		per := map[int64]*acc{} // window end -> this series' accumulator
		var ends []int64
		for i, p := range pts {
			e := (p.ms/win + 1) * win
			a := per[e]
			if a == nil {
				a = &acc{from: p.ms}
				if i > 0 {
					a.from = pts[i-1].ms
				}
				per[e] = a
				ends = append(ends, e)
			}
			if i > 0 {
				d := p.v - pts[i-1].v
				if d < 0 {
					d = p.v
				}
				a.delta += d
			}
			a.last = p.ms
		}
		for _, e := range ends {
			a := per[e]
			exact[g][e] += 0 // the window has the series even without a rate
			if a.last > a.from {
				exact[g][e] += a.delta / (float64(a.last-a.from) / 1000)
				rated[g][e]++
			}
		}
	}
	n := 0
	got := promMatrix(t, prom, metric+":3s_without_instance_rate_sum[10m]", end)
	for g, ends := range exact {
		if len(got[g]) != len(ends) {
			t.Errorf("%s%s: %d rate_sum points (%v), want %d windows (%v)", metric, g, len(got[g]), got[g], len(ends), ends)
			continue
		}
		for _, p := range got[g] {
			want, ok := ends[p.ms]
			if !ok || math.Abs(p.v-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("%s%s at %d: rate_sum %v, want %v from the raw samples", metric, g, p.ms, p.v, want)
			}
			n++
		}
		avg := promMatrix(t, prom, metric+":3s_without_instance_rate_avg[10m]", end)[g]
		withRate := 0
		for _, k := range rated[g] {
			if k > 0 {
				withRate++
			}
		}
		if len(avg) != withRate {
			t.Errorf("%s%s: %d rate_avg points, want one per window with a rated series (%d)", metric, g, len(avg), withRate)
		}
		for _, p := range avg {
			k := rated[g][p.ms]
			if want := ends[p.ms] / float64(k); k == 0 || math.Abs(p.v-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("%s%s at %d: rate_avg %v, want %v over %d series", metric, g, p.ms, p.v, want, k)
			}
			n++
		}
		mid := got[g][len(got[g])/2]
		t.Logf("%s%s: window ending %d: rate_sum %v (exact), PromQL sum(rate(%s[3s])) %v (extrapolated)", metric, g, mid.ms, mid.v, metric,
			promMatrix(t, prom, fmt.Sprintf("sum without(instance) (rate(%s[3s]))", metric), time.UnixMilli(mid.ms-1))[g])
	}
	return n
}
