package forwarder

// End to end for the hec sink (issue 3): the running service scrapes a real
// target on 127.0.0.1 and delivers to the strict hectest receiver.

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// hecConfig is e2eConfig with one hec sink; extra is appended to the
// sink's keys.
func hecConfig(target, hecURL, extra string) string {
	return e2eConfig("", target, fmt.Sprintf(`  - name: splunk
    type: hec
    url: %s
    host: e2e-host
    source: promfwd-e2e
    sourcetype: prometheus
    index: metrics
    flush_interval: 100ms
%s`, hecURL, extra))
}

// hecValues returns the values the receiver got for metric name, in
// arrival order.
func hecValues(srv *hectest.Server, name string) []float64 {
	var out []float64
	for _, p := range srv.Points() {
		if p.Name == name {
			out = append(out, p.Value)
		}
	}
	return out
}

func e2eMax(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	return slices.Max(vs)
}

// hecExpPoint is one sample the exposition below holds, as HEC should show it.
type hecExpPoint struct {
	name   string
	value  float64
	tsMs   int64 // 0: the scrape's time
	labels []string
}

// hecExposition is a target with counters, gauges, a histogram, a summary,
// label names HEC renames, escaped and non-ASCII label values, explicit
// timestamps and a NaN (dropped and counted). The expected points carry the
// dimensions as the sink must rename them.
func hecExposition(tsMs int64) (string, []hecExpPoint, int) {
	ts := strconv.FormatInt(tsMs, 10)
	body := `# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code="200",method="get"} 1027
http_requests_total{code="500",method="post"} 3 ` + ts + `
# TYPE temperature_celsius gauge
temperature_celsius{sensor="a b",host="h2",_private="x"} -3.5e-09
temperature_celsius{sensor="quote",say="say \"hi\"\n",uni="häß✓"} 21.125
# TYPE big_bytes gauge
big_bytes 1e+21 ` + ts + `
# TYPE temp_nan gauge
temp_nan NaN
# TYPE req_seconds histogram
req_seconds_bucket{path="/a",le="0.1"} 3
req_seconds_bucket{path="/a",le="1"} 5
req_seconds_bucket{path="/a",le="+Inf"} 6
req_seconds_sum{path="/a"} 2.5
req_seconds_count{path="/a"} 6
# TYPE gc_seconds summary
gc_seconds{quantile="0.5"} 0.001
gc_seconds{quantile="0.99"} 0.02
gc_seconds_sum 2
gc_seconds_count 7
# TYPE untyped_thing untyped
untyped_thing{metric_name="m"} 42
`
	exp := []hecExpPoint{
		{"http_requests_total", 1027, 0, []string{"code", "200", "method", "get"}},
		{"http_requests_total", 3, tsMs, []string{"code", "500", "method", "post"}},
		{"temperature_celsius", -3.5e-9, 0, []string{"sensor", "a b", "label_host", "h2", "label__private", "x"}},
		{"temperature_celsius", 21.125, 0, []string{"sensor", "quote", "say", "say \"hi\"\n", "uni", "häß✓"}},
		{"big_bytes", 1e21, tsMs, nil},
		{"req_seconds_bucket", 3, 0, []string{"path", "/a", "le", "0.1"}},
		{"req_seconds_bucket", 5, 0, []string{"path", "/a", "le", "1.0"}}, // le is normalized at scrape time, as Prometheus does
		{"req_seconds_bucket", 6, 0, []string{"path", "/a", "le", "+Inf"}},
		{"req_seconds_sum", 2.5, 0, []string{"path", "/a"}},
		{"req_seconds_count", 6, 0, []string{"path", "/a"}},
		{"gc_seconds", 0.001, 0, []string{"quantile", "0.5"}},
		{"gc_seconds", 0.02, 0, []string{"quantile", "0.99"}},
		{"gc_seconds_sum", 2, 0, nil},
		{"gc_seconds_count", 7, 0, nil},
		{"untyped_thing", 42, 0, []string{"label_metric_name", "m"}},
	}
	return body, exp, 1 // one NaN sample
}

// pointKey renders a point canonically for comparison.
func hecPointKey(name string, v float64, tsMs int64, host, source, sourcetype, index string, dims map[string]string) string {
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s=%s @%d host=%s source=%s sourcetype=%s index=%s {", name,
		strconv.FormatFloat(v, 'g', -1, 64), tsMs, host, source, sourcetype, index)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q,", k, dims[k])
	}
	b.WriteString("}")
	return b.String()
}

func hecDeliversScrapedSamplesExactly(t *testing.T) {
	type run struct {
		name        string
		multi, gzip bool
		tg          *e2eTarget
		rcv         *hectest.Server
		svc         *e2eService
	}
	runs := []*run{
		{name: "single/gzip", gzip: true},
		{name: "single/plain"},
		{name: "multi/gzip", multi: true, gzip: true},
		{name: "multi/plain", multi: true},
	}
	explicitTS := time.Now().Add(-5 * time.Second).UnixMilli()
	body, exp, nans := hecExposition(explicitTS)
	// The services run side by side (go test's -parallel is often 2).
	for _, r := range runs {
		r.tg = newE2ETarget(t, func(int) string { return body })
		r.rcv = hectest.New(t, hectest.Options{Indexes: []string{"metrics"}})
		r.svc = startE2E(t, hecConfig(r.tg.URL(), r.rcv.URL(), fmt.Sprintf(
			"    token: %s\n    multi_metric: %t\n    gzip: %t\n", hectest.DefaultToken, r.multi, r.gzip)))
	}
	// Three scrapes of an unchanged body: the first is delivered, dedupe
	// holds back the repeats (resend_after is 4m).
	for _, r := range runs {
		pollFor(t, 30*time.Second, r.name+": 3 scrapes and every point", func() bool {
			return r.tg.Scrapes() >= 3 && len(r.rcv.Points()) >= len(exp)
		})
	}
	for _, r := range runs {
		r.svc.Stop(t)
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			tc, tg, rcv, svc := r, r.tg, r.rcv, r.svc
			u, _ := url.Parse(tg.URL())
			got := rcv.Points()
			if len(got) != len(exp) {
				t.Errorf("receiver got %d points, want %d", len(got), len(exp))
			}
			// The samples without an exposition timestamp carry the time of
			// the scrape that produced them: after the service started and
			// no later than the target saw the first request.
			var scrapeMs int64 = -1
			for _, p := range got {
				if p.TimeMs == explicitTS {
					continue
				}
				if scrapeMs == -1 {
					scrapeMs = p.TimeMs
				}
				if p.TimeMs != scrapeMs {
					t.Errorf("point %s at %d, others of the scrape at %d", p.Name, p.TimeMs, scrapeMs)
				}
			}
			if lo, hi := svc.started.UnixMilli(), tg.ScrapeTime(1).UnixMilli(); scrapeMs < lo || scrapeMs > hi {
				t.Errorf("scrape time %d outside [service start %d, first scrape %d]", scrapeMs, lo, hi)
			}

			var want, have []string
			for _, e := range exp {
				dims := map[string]string{"job": "app", "instance": u.Host}
				for i := 0; i+1 < len(e.labels); i += 2 {
					dims[e.labels[i]] = e.labels[i+1]
				}
				ts := e.tsMs
				if ts == 0 {
					ts = scrapeMs
				}
				want = append(want, hecPointKey(e.name, e.value, ts, "e2e-host", "promfwd-e2e", "prometheus", "metrics", dims))
			}
			for _, p := range got {
				have = append(have, hecPointKey(p.Name, p.Value, p.TimeMs, p.Host, p.Source, p.SourceType, p.Index, p.Dimensions))
			}
			slices.Sort(want)
			slices.Sort(have)
			if !slices.Equal(want, have) {
				for _, w := range want {
					if !slices.Contains(have, w) {
						t.Errorf("missing: %s", w)
					}
				}
				for _, h := range have {
					if !slices.Contains(want, h) {
						t.Errorf("unexpected: %s", h)
					}
				}
			}
			for _, ev := range rcv.Events() {
				if ev.Multi != tc.multi {
					t.Errorf("event multi=%t, want %t", ev.Multi, tc.multi)
					break
				}
			}
			if st := rcv.Stats(); (tc.gzip && st.Gzipped != st.Accepted) || (!tc.gzip && st.Gzipped != 0) {
				t.Errorf("gzip %t: %d of %d requests gzipped", tc.gzip, st.Gzipped, st.Accepted)
			}
			if tc.multi && len(rcv.Events()) >= len(exp) {
				t.Errorf("multi-metric: %d events for %d points, want fewer events", len(rcv.Events()), len(exp))
			}
			if d := svc.metric(t, "promfwd_sink_dropped_samples_total", map[string]string{"sink": "splunk", "reason": "unrepresentable"}); d != float64(nans) {
				t.Errorf("dropped{unrepresentable} = %v, want %d (the NaN)", d, nans)
			}
			if n := svc.metric(t, "promfwd_sink_samples_sent_total", map[string]string{"sink": "splunk"}); n != float64(len(exp)) {
				t.Errorf("samples_sent = %v, want %d", n, len(exp))
			}
			t.Logf("%s: %d points in %d events, %d requests, %d scrapes", tc.name, len(got), len(rcv.Events()), rcv.Stats().Accepted, tg.Scrapes())
		})
	}
}

// hecInvalidDataDropsOneBatch: one request answered 400 code 6 is
// dropped (logged with HEC's reason, counted), the following ones flow.
func hecInvalidDataDropsOneBatch(t *testing.T) {
	tg := newE2ETarget(t, e2eSeqBody)
	rcv := hectest.New(t, hectest.Options{})
	svc := startE2E(t, hecConfig(tg.URL(), rcv.URL(), "    token: "+hectest.DefaultToken+"\n"))

	pollFor(t, 30*time.Second, "seq 2 delivered", func() bool { return e2eMax(hecValues(rcv, "seq_total")) >= 2 })
	rcv.FailNext(1, hectest.InvalidData(0))
	pollFor(t, 30*time.Second, "the rejection", func() bool { return rcv.Stats().Rejected >= 1 })
	after := tg.Scrapes() + 2
	pollFor(t, 30*time.Second, "later batches", func() bool { return int(e2eMax(hecValues(rcv, "seq_total"))) >= after })
	svc.Stop(t)

	ctr, gauge := e2eCheckSeq(hecValues(rcv, "seq_total")), e2eCheckSeq(hecValues(rcv, "seq_gauge"))
	if len(ctr.missing) == 0 || !slices.Equal(ctr.missing, gauge.missing) {
		t.Errorf("missing counter values %v, gauge values %v: want the same scrape(s) missing from both", ctr.missing, gauge.missing)
	}
	if ctr.duplicates+gauge.duplicates != 0 {
		t.Errorf("duplicates %d/%d, want 0", ctr.duplicates, gauge.duplicates)
	}
	lost := len(ctr.missing) + len(gauge.missing)
	if d := svc.metric(t, "promfwd_sink_dropped_samples_total", map[string]string{"sink": "splunk", "reason": "rejected"}); d != float64(lost) {
		t.Errorf("dropped{rejected} = %v, want %d (the samples missing at the receiver)", d, lost)
	}
	if n := svc.metric(t, "promfwd_sink_requests_total", map[string]string{"sink": "splunk", "outcome": "permanent_error"}); n != 1 {
		t.Errorf("requests{permanent_error} = %v, want 1", n)
	}
	logs := svc.logsMatching("destination rejected request")
	if len(logs) != 1 {
		t.Fatalf("%d 'rejected' log lines, want 1", len(logs))
	}
	msg := fmt.Sprint(logs[0].ContextMap()["error"])
	// One "sink" key per JSON line (it used to be added twice).
	if lines := svc.jsonLines("destination rejected request"); len(lines) != 1 || strings.Count(lines[0], `"sink":`) != 1 {
		t.Errorf("JSON log line %q: want exactly one \"sink\" key", lines)
	}
	for _, want := range []string{"status 400", "hec code 6", "Invalid data format", "invalid-event-number 0"} {
		if !strings.Contains(msg, want) {
			t.Errorf("log error %q lacks %q", msg, want)
		}
	}
	t.Logf("rejected scrape(s) %v; later values up to %d delivered; log: %s: %s", ctr.missing, ctr.max, logs[0].Message, msg)
}

// hecHealthProbeAndTokenRotation: the startup probe is logged; a
// wrong token makes the sink unhealthy (readiness says so) while the data
// stays queued; writing the right token into token_file delivers all of it.
func hecHealthProbeAndTokenRotation(t *testing.T) {
	const wrong = "wrong-token-3f1e9a"
	tokenFile := filepath.Join(t.TempDir(), "hec_token")
	if err := os.WriteFile(tokenFile, []byte(wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tg := newE2ETarget(t, e2eSeqBody)
	rcv := hectest.New(t, hectest.Options{})
	svc := startE2E(t, hecConfig(tg.URL(), rcv.URL(), "    token_file: "+tokenFile+"\n"))
	healthy := func() float64 {
		return svc.metric(t, "promfwd_sink_healthy", map[string]string{"sink": "splunk"})
	}

	pollFor(t, 10*time.Second, "health probe log", func() bool { return len(svc.logsMatching("hec reachable")) == 1 })
	probe := svc.logsMatching("hec reachable")[0].ContextMap()
	if probe["url"] != rcv.URL()+"/services/collector/health" || probe["code"] != int64(hectest.CodeHealthy) {
		t.Errorf("probe log fields %v", probe)
	}

	pollFor(t, 30*time.Second, "403s, unhealthy, data queued", func() bool {
		return rcv.Stats().Rejected >= 2 && healthy() == 0 &&
			svc.metric(t, "promfwd_sink_queue_requests", map[string]string{"sink": "splunk"}) >= 1
	})
	if rcv.Stats().Accepted != 0 {
		t.Fatalf("accepted %d requests with a wrong token", rcv.Stats().Accepted)
	}
	nr := svc.f.notReady()
	if len(nr) != 1 || !strings.Contains(nr[0], "sink splunk unhealthy") {
		t.Errorf("notReady = %q, want the splunk sink unhealthy", nr)
	}
	queuedAtFix := tg.Scrapes()

	if err := os.WriteFile(tokenFile, []byte(hectest.DefaultToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pollFor(t, 60*time.Second, "queued data delivered with the new token", func() bool {
		return int(e2eMax(hecValues(rcv, "seq_total"))) >= queuedAtFix+1
	})
	if h := healthy(); h != 1 {
		t.Errorf("healthy = %v after the token works, want 1", h)
	}
	svc.Stop(t)

	c := e2eCheckSeq(hecValues(rcv, "seq_total"))
	if len(c.missing) > 0 || c.duplicates > 0 || c.max < queuedAtFix {
		t.Errorf("seq: max %d, missing %v, duplicates %d; want 1..>=%d exactly once", c.max, c.missing, c.duplicates, queuedAtFix)
	}
	if txt := svc.allLogText(); strings.Contains(txt, wrong) || strings.Contains(txt, hectest.DefaultToken) {
		t.Error("a token appears in the logs")
	}
	t.Logf("scrapes queued while unauthorized: %d; delivered 1..%d once each; 403s answered: %d", queuedAtFix, c.max, rcv.Stats().Rejected)
}

// hecAckWithheldResends: with indexer acknowledgement on and the
// receiver withholding acks, the waiting request is posted again after
// ack.timeout (each resend is one logged at-least-once duplicate); once
// acks are granted every request is released, and counted, exactly once.
func hecAckWithheldResends(t *testing.T) {
	tg := newE2ETarget(t, e2eSeqBody)
	rcv := hectest.New(t, hectest.Options{UseACK: true})
	svc := startE2E(t, hecConfig(tg.URL(), rcv.URL(), "    token: "+hectest.DefaultToken+
		"\n    ack: { enabled: true, poll_interval: 100ms, timeout: 2s }\n"))

	pollFor(t, 30*time.Second, "seq 2 delivered", func() bool { return e2eMax(hecValues(rcv, "seq_total")) >= 2 })
	rcv.WithholdAcks(true)
	pollFor(t, 30*time.Second, "two resends", func() bool {
		return e2eCheckSeq(hecValues(rcv, "seq_total")).duplicates >= 2
	})
	rcv.WithholdAcks(false)
	after := tg.Scrapes() + 2
	pollFor(t, 30*time.Second, "delivery once acks flow", func() bool { return int(e2eMax(hecValues(rcv, "seq_total"))) >= after })
	svc.Stop(t)

	ctr, gauge := e2eCheckSeq(hecValues(rcv, "seq_total")), e2eCheckSeq(hecValues(rcv, "seq_gauge"))
	resends := len(svc.logsMatching("hec ack not confirmed in time; posting the request again"))
	if len(ctr.missing)+len(gauge.missing) > 0 {
		t.Errorf("lost scrapes: counter %v, gauge %v", ctr.missing, gauge.missing)
	}
	if resends < 2 || ctr.duplicates != resends || gauge.duplicates != resends {
		t.Errorf("%d resends logged, duplicates at the receiver %d/%d: want one duplicate per resend", resends, ctr.duplicates, gauge.duplicates)
	}
	// Released exactly once: the runner counts one success per request,
	// whatever the resends.
	if n := svc.metric(t, "promfwd_sink_requests_total", map[string]string{"sink": "splunk", "outcome": "success"}); n != float64(ctr.max) {
		t.Errorf("requests{success} = %v, want %d (one per scrape)", n, ctr.max)
	}
	if n := svc.metric(t, "promfwd_sink_samples_sent_total", map[string]string{"sink": "splunk"}); n != float64(2*ctr.max) {
		t.Errorf("samples_sent = %v, want %d", n, 2*ctr.max)
	}
	t.Logf("acks withheld: %d resends (duplicates %d); delivered 1..%d; receiver %+v", resends, ctr.duplicates, ctr.max, rcv.Stats())
}
