package forwarder

// End to end for the datadog sink (issue 4): the running service scrapes a
// real target on 127.0.0.1 and delivers to the strict ddtest receiver.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/datadog/ddtest"
)

const ddKey = "e2e-dd-api-key-5c7a"

// ddConfig is e2eConfig with one datadog sink; top is added to the
// top-level keys.
func ddConfig(target, ddURL, top string) string {
	return e2eConfig(top+"\n", target, fmt.Sprintf(`  - name: dd
    type: datadog
    url: %s
    api_key: %s
    host: e2e-host
    flush_interval: 100ms
`, ddURL, ddKey))
}

// ddPoint is one point with the identity of its series.
type ddPoint struct {
	metric   string
	typ      int
	tags     string // sorted, comma-joined
	ts       int64
	value    float64
	interval int64
}

func ddPoints(srv *ddtest.Server) []ddPoint {
	var out []ddPoint
	for _, s := range srv.Series() {
		tags := slices.Clone(s.Tags)
		slices.Sort(tags)
		for _, p := range s.Points {
			out = append(out, ddPoint{metric: s.Metric, typ: s.Type, tags: strings.Join(tags, ","),
				ts: *p.Timestamp, value: *p.Value, interval: s.Interval})
		}
	}
	return out
}

// ddSeries returns the points of metric whose tags contain every one of
// tags, in arrival order.
func ddSeries(pts []ddPoint, metric string, tags ...string) []ddPoint {
	var out []ddPoint
	for _, p := range pts {
		if p.metric != metric {
			continue
		}
		have := strings.Split(p.tags, ",")
		ok := true
		for _, t := range tags {
			ok = ok && slices.Contains(have, t)
		}
		if ok {
			out = append(out, p)
		}
	}
	return out
}

func ddValues(pts []ddPoint) []float64 {
	out := make([]float64, len(pts))
	for i, p := range pts {
		out[i] = p.value
	}
	return out
}

// at returns seq[n-1], or its last element past the end.
func e2eAt(seq []float64, n int) float64 { return seq[min(n, len(seq))-1] }

// ddCounterDeltasGaugesHistogram: a counter scraped with the
// values 10,15,15,40,41 arrives as the deltas 5,0,25,1 (type count, with
// an interval); a counter that resets never goes negative; gauges pass
// through; histogram buckets arrive as counts tagged upper_bound. With
// dedupe on, the repeated 15 is never sent, so the 0 delta is absent.
func ddCounterDeltasGaugesHistogram(t *testing.T) {
	jobs := []float64{10, 15, 15, 40, 41}
	restarts := []float64{100, 120, 5, 30, 30}
	temp := []float64{1.5, 2.5, 2.5, -4, 8}
	b01 := []float64{1, 2, 4, 4, 7} // le=0.1
	b1 := []float64{2, 3, 6, 6, 9}  // le=1
	inf := []float64{3, 5, 8, 8, 12}
	sum := []float64{0.5, 1, 2.25, 2.25, 4}
	body := func(n int) string {
		return fmt.Sprintf(`# TYPE jobs_total counter
jobs_total{queue="q1"} %g
# TYPE restarts_total counter
restarts_total %g
# TYPE temp_celsius gauge
temp_celsius{room="lab"} %g
# TYPE req_seconds histogram
req_seconds_bucket{le="0.1"} %g
req_seconds_bucket{le="1"} %g
req_seconds_bucket{le="+Inf"} %g
req_seconds_sum %g
req_seconds_count %g
`, e2eAt(jobs, n), e2eAt(restarts, n), e2eAt(temp, n), e2eAt(b01, n), e2eAt(b1, n), e2eAt(inf, n), e2eAt(sum, n), e2eAt(inf, n))
	}
	type run struct {
		name   string
		off    bool
		dedupe string
		// the first points expected per series (after the five scrapes
		// with dedupe off, further scrapes add 0 deltas and repeated gauges)
		jobs, restarts, temp, bucket01, count []float64

		tg  *e2eTarget
		rcv *ddtest.Server
		svc *e2eService
	}
	runs := []*run{
		{name: "dedupe_off", off: true, dedupe: "dedupe: { enabled: false }",
			jobs: []float64{5, 0, 25, 1}, restarts: []float64{20, 5, 25, 0}, temp: []float64{1.5, 2.5, 2.5, -4, 8},
			bucket01: []float64{1, 2, 0, 3}, count: []float64{2, 3, 0, 4}},
		{name: "dedupe_on", dedupe: "dedupe: { enabled: true, resend_after: 10m }",
			jobs: []float64{5, 25, 1}, restarts: []float64{20, 5, 25}, temp: []float64{1.5, 2.5, -4, 8},
			bucket01: []float64{1, 2, 3}, count: []float64{2, 3, 4}},
	}
	// The services run side by side (go test's -parallel is often 2).
	for _, r := range runs {
		r.tg = newE2ETarget(t, body)
		r.rcv = ddtest.NewServer(ddtest.Options{APIKey: ddKey})
		t.Cleanup(r.rcv.Close)
		r.svc = startE2E(t, ddConfig(r.tg.URL(), r.rcv.URL(), r.dedupe))
	}
	for _, r := range runs {
		pollFor(t, 60*time.Second, r.name+": 6 scrapes and 3 jobs deltas", func() bool {
			return r.tg.Scrapes() >= 6 && len(ddSeries(ddPoints(r.rcv), "jobs_total")) >= 3
		})
	}
	for _, r := range runs {
		r.svc.Stop(t)
	}
	for _, tc := range runs {
		t.Run(tc.name, func(t *testing.T) {
			tg, rcv := tc.tg, tc.rcv
			pts := ddPoints(rcv)

			// With dedupe off every scrape delivered adds one gauge point
			// and, but for the first, one count point per counter.
			gauges := ddSeries(pts, "temp_celsius", "room:lab", "job:app")
			check := func(what string, got []ddPoint, want []float64, typ int) {
				t.Helper()
				v := ddValues(got)
				wantLen := len(want)
				if tc.off {
					wantLen = len(gauges)
					if typ == 1 {
						wantLen--
					}
				}
				if len(v) != wantLen || len(v) < len(want) || !slices.Equal(v[:len(want)], want) {
					t.Errorf("%s: got %v, want %v then repeats (%d points)", what, v, want, wantLen)
					return
				}
				for _, x := range v[len(want):] {
					if (typ == 1 && x != 0) || (typ == 3 && x != want[len(want)-1]) {
						t.Errorf("%s: after the five scrapes got %v, want 0 deltas or the last gauge value", what, v)
						break
					}
				}
				for i, p := range got {
					switch {
					case p.typ != typ:
						t.Errorf("%s: type %d, want %d", what, p.typ, typ)
					case typ == 1 && p.interval < 1:
						t.Errorf("%s: count without interval", what)
					case typ == 1 && p.value < 0:
						t.Errorf("%s: negative count %v", what, p.value)
					case i > 0 && p.ts < got[i-1].ts:
						t.Errorf("%s: timestamps out of order", what)
					}
				}
			}
			check("jobs_total", ddSeries(pts, "jobs_total", "queue:q1", "job:app"), tc.jobs, 1)
			check("restarts_total", ddSeries(pts, "restarts_total"), tc.restarts, 1)
			check("temp_celsius", gauges, tc.temp, 3)
			check("req_seconds.count{upper_bound:0.1}", ddSeries(pts, "req_seconds.count", "upper_bound:0.1"), tc.bucket01, 1)
			check("req_seconds.count{upper_bound:none}", ddSeries(pts, "req_seconds.count", "upper_bound:none"), tc.count, 1)
			bounds := map[string]bool{}
			for _, p := range ddSeries(pts, "req_seconds.count") {
				for _, tag := range strings.Split(p.tags, ",") {
					if b, ok := strings.CutPrefix(tag, "upper_bound:"); ok {
						bounds[b] = true
					}
				}
			}
			if len(bounds) != 3 || !bounds["0.1"] || !bounds["1.0"] || !bounds["none"] {
				t.Errorf("histogram upper_bound tags %v, want 0.1, 1.0 and none", bounds)
			}
			if s := ddSeries(pts, "req_seconds.sum"); len(s) == 0 || s[0].typ != 1 || s[0].value != 0.5 {
				t.Errorf("req_seconds.sum points %v, want counts starting 0.5", s)
			}
			for _, s := range rcv.Series() {
				if s.Host() != "e2e-host" {
					t.Errorf("series %s host %q", s.Metric, s.Host())
					break
				}
			}
			t.Logf("%s: %d scrapes; jobs_total %v; restarts_total %v; temp %v; bucket 0.1 %v; %d requests",
				tc.name, tg.Scrapes(), ddValues(ddSeries(pts, "jobs_total")), ddValues(ddSeries(pts, "restarts_total")),
				ddValues(gauges), ddValues(ddSeries(pts, "req_seconds.count", "upper_bound:0.1")), len(rcv.Requests()))
		})
	}
}

// ddRejectedBatchDropped: a 400 drops that request with a log
// line carrying the intake's errors; later requests flow.
func ddRejectedBatchDropped(t *testing.T) {
	tg := newE2ETarget(t, e2eSeqBody)
	rcv := ddtest.NewServer(ddtest.Options{APIKey: ddKey})
	t.Cleanup(rcv.Close)
	svc := startE2E(t, ddConfig(tg.URL(), rcv.URL(), ""))

	gauge := func() []float64 { return ddValues(ddSeries(ddPoints(rcv), "seq_gauge")) }
	pollFor(t, 30*time.Second, "seq 2 delivered", func() bool { return e2eMax(gauge()) >= 2 })
	rcv.Fail(ddtest.Fault{Status: 400, Count: 1, Header: map[string][]string{"Content-Type": {"application/json"}},
		Body: `{"errors":["Payload is not in the expected format: invalid series"]}`})
	pollFor(t, 30*time.Second, "the rejection", func() bool {
		for _, r := range rcv.Requests() {
			if r.Status == 400 {
				return true
			}
		}
		return false
	})
	after := tg.Scrapes() + 2
	pollFor(t, 30*time.Second, "later batches", func() bool { return int(e2eMax(gauge())) >= after })
	svc.Stop(t)

	g := e2eCheckSeq(gauge())
	if len(g.missing) != 1 || g.duplicates != 0 {
		t.Errorf("gauge: missing %v, duplicates %d; want exactly the rejected scrape missing", g.missing, g.duplicates)
	}
	// The rejected request carried one gauge point and one count delta.
	if d := svc.metric(t, "promfwd_sink_dropped_samples_total", map[string]string{"sink": "dd", "reason": "rejected"}); d != 2 {
		t.Errorf("dropped{rejected} = %v, want 2", d)
	}
	logs := svc.logsMatching("destination rejected request")
	if len(logs) != 1 {
		t.Fatalf("%d 'rejected' log lines, want 1", len(logs))
	}
	msg := fmt.Sprint(logs[0].ContextMap()["error"])
	for _, want := range []string{"400", "Payload is not in the expected format: invalid series"} {
		if !strings.Contains(msg, want) {
			t.Errorf("log error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(svc.allLogText(), ddKey) {
		t.Error("the API key appears in the logs")
	}
	t.Logf("rejected scrape %v; later values up to %d delivered; log: %s: %s", g.missing, g.max, logs[0].Message, msg)
}
