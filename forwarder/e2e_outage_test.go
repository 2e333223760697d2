package forwarder

// The 30-second outage of every sink, run side by side in one test: with
// `go test`'s default -parallel (GOMAXPROCS, 2 on small machines) separate
// parallel tests would take turns and add their 30+ seconds up.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/datadog/ddtest"
	"github.com/promfwd/promfwd/sinks/hec/hectest"
	"github.com/promfwd/promfwd/sinks/remotewrite/promtest"
)

// e2eOutage is one sink's service under a receiver outage. The target's
// scrape n carries the value n (e2eSeqBody), so completeness is checkable.
type e2eOutage struct {
	name      string
	svc       *e2eService
	tg        *e2eTarget
	delivered func() int          // highest scrape number delivered so far
	fail      func(time.Duration) // make the receiver answer 503 for d
	failures  func() int          // 503s answered so far
	check     func(t *testing.T)  // after Stop: nothing lost, duplicates
	need      int                 // scrape number to reach after the outage
	recovered time.Duration       // from the outage's start to need delivered
}

// e2eMaxBackoff caps the retry backoff in the outage tests (see the
// max_backoff sink key) so delivery resumes within seconds of recovery.
const e2eMaxBackoff = "    max_backoff: 5s\n"

func hecOutage(t *testing.T, ack bool) *e2eOutage {
	tg := newE2ETarget(t, e2eSeqBody)
	rcv := hectest.New(t, hectest.Options{UseACK: ack})
	extra := "    token: " + hectest.DefaultToken + "\n" + e2eMaxBackoff
	if ack {
		extra += "    ack: { enabled: true, poll_interval: 100ms, timeout: 2m }\n"
	}
	o := &e2eOutage{name: fmt.Sprintf("hec/ack=%t", ack), tg: tg}
	o.svc = startE2E(t, hecConfig(tg.URL(), rcv.URL(), extra))
	o.delivered = func() int { return int(e2eMax(hecValues(rcv, "seq_total"))) }
	o.fail = func(d time.Duration) { rcv.FailFor(d, hectest.Busy()) }
	o.failures = func() int { return rcv.Stats().Rejected }
	o.check = func(t *testing.T) {
		served := tg.Scrapes()
		for _, name := range []string{"seq_total", "seq_gauge"} {
			c := e2eCheckSeq(hecValues(rcv, name))
			if len(c.missing) > 0 || c.max < served-1 {
				t.Errorf("%s: delivered 1..%d, lost %v; target served %d scrapes", name, c.max, c.missing, served)
			}
			// No request is accepted and then resent: a 503 means "not
			// taken", and with ack on every accepted request is acked
			// (within ack.timeout), so duplicates would be a bug.
			if c.duplicates != 0 {
				t.Errorf("%s: %d duplicates, want 0", name, c.duplicates)
			}
			t.Logf("%s: delivered 1..%d, missing %d, duplicates %d", name, c.max, len(c.missing), c.duplicates)
		}
		st := rcv.Stats()
		if ack && st.Acked != st.Accepted {
			t.Errorf("acked %d of %d accepted requests", st.Acked, st.Accepted)
		}
		t.Logf("receiver %+v", st)
	}
	return o
}

func ddOutage(t *testing.T) *e2eOutage {
	tg := newE2ETarget(t, e2eSeqBody)
	rcv := ddtest.NewServer(ddtest.Options{APIKey: ddKey})
	t.Cleanup(rcv.Close)
	o := &e2eOutage{name: "datadog", tg: tg}
	o.svc = startE2E(t, ddConfig(tg.URL(), rcv.URL(), "")+e2eMaxBackoff)
	gauge := func() []float64 { return ddValues(ddSeries(ddPoints(rcv), "seq_gauge")) }
	o.delivered = func() int { return int(e2eMax(gauge())) }
	o.fail = func(d time.Duration) {
		rcv.Fail(ddtest.Fault{Status: http.StatusServiceUnavailable, Body: `{"errors":["Service Unavailable"]}`, Until: time.Now().Add(d)})
	}
	o.failures = func() int {
		n := 0
		for _, r := range rcv.Requests() {
			if r.Status == http.StatusServiceUnavailable {
				n++
			}
		}
		return n
	}
	o.check = func(t *testing.T) {
		served := tg.Scrapes()
		g := e2eCheckSeq(gauge())
		if len(g.missing) > 0 || g.duplicates > 0 || g.max < served-1 {
			t.Errorf("gauge: delivered 1..%d, missing %v, duplicates %d; target served %d", g.max, g.missing, g.duplicates, served)
		}
		// Every scrape adds 1 to the counter: its deltas must add up to
		// the scrapes after the first, none lost or counted twice.
		deltas := ddValues(ddSeries(ddPoints(rcv), "seq_total"))
		var total float64
		for _, d := range deltas {
			total += d
		}
		if len(deltas) != g.max-1 || total != float64(g.max-1) {
			t.Errorf("counter: %d deltas summing to %v, want %d summing to %d", len(deltas), total, g.max-1, g.max-1)
		}
		t.Logf("gauge 1..%d complete; %d count deltas sum %v", g.max, len(deltas), total)
	}
	return o
}

// rwOutage puts a proxy that can answer 503 in front of a real Prometheus.
// It returns nil (after logging why) when the binary is missing outside CI.
func rwOutage(t *testing.T) *e2eOutage {
	if _, err := exec.LookPath("prometheus"); err != nil && os.Getenv("CI") != "true" {
		t.Logf("remote_write outage skipped: prometheus binary not found; %s", promtest.InstallHint)
		return nil
	}
	prom := promtest.Start(t)
	px := newRWProxy(t, prom)
	tg := newE2ETarget(t, e2eSeqBody)
	o := &e2eOutage{name: "remote_write", tg: tg}
	o.svc = startE2E(t, rwConfig(tg.URL(), px.writeURL())+e2eMaxBackoff)
	o.delivered = func() int {
		if px.count(http.StatusNoContent) == 0 {
			return 0
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := prom.Query(ctx, "seq_gauge", time.Now())
		if err != nil || len(res) != 1 {
			return 0
		}
		return int(res[0].Value)
	}
	o.fail = func(d time.Duration) { px.failFor(d, http.StatusServiceUnavailable, "service unavailable") }
	o.failures = func() int { return px.count(http.StatusServiceUnavailable) }
	o.check = func(t *testing.T) {
		got := seqInProm(t, prom, tg)
		for i, v := range got {
			if v != float64(i+1) {
				t.Errorf("scrape %d: Prometheus has seq_gauge %v, want %d", i+1, v, i+1)
			}
		}
		if n := px.count(http.StatusBadRequest); n != 0 {
			t.Errorf("Prometheus answered 400 %d times", n)
		}
		t.Logf("all %d scrapes in Prometheus; 204 answers %d", len(got), px.count(http.StatusNoContent))
	}
	return o
}

// outage30s: each receiver answers 503 for 30 s and then recovers;
// every scrape made meanwhile is delivered, none twice.
func outage30s(t *testing.T) {
	var outs []*e2eOutage
	for _, o := range []*e2eOutage{hecOutage(t, true), hecOutage(t, false), ddOutage(t), rwOutage(t)} {
		if o != nil {
			outs = append(outs, o)
		}
	}
	for _, o := range outs {
		pollFor(t, 30*time.Second, o.name+": scrape 2 delivered", func() bool { return o.delivered() >= 2 })
	}
	const outage = 30 * time.Second
	began := time.Now()
	for _, o := range outs {
		o.fail(outage)
	}
	// After the outage, wait for two more scrapes than the target had
	// answered by then (a generous deadline, not a timing assertion).
	pollFor(t, outage+90*time.Second, "delivery after the outage", func() bool {
		since := time.Since(began)
		if since <= outage {
			return false
		}
		done := true
		for _, o := range outs {
			if o.recovered > 0 {
				continue
			}
			if o.need == 0 {
				o.need = o.tg.Scrapes() + 2
			}
			if o.delivered() >= o.need {
				o.recovered = since
			} else {
				done = false
			}
		}
		return done
	})
	for _, o := range outs {
		o.svc.Stop(t)
	}
	for _, o := range outs {
		t.Run(o.name, func(t *testing.T) {
			if n := o.failures(); n < 3 {
				t.Errorf("%d 503 answers: the outage was not seen", n)
			}
			if r := o.svc.metric(t, "promfwd_sink_retries_total", nil); r < 3 {
				t.Errorf("retries = %v, want the 503s retried", r)
			}
			o.check(t)
			t.Logf("recovered %.1fs after the outage began (30s outage); %d scrapes; %d 503 answers",
				o.recovered.Seconds(), o.tg.Scrapes(), o.failures())
		})
	}
}
