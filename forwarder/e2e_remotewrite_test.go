package forwarder

// End to end for the remote_write sink (issue 5): the running service
// scrapes a real target on 127.0.0.1 and writes into a real Prometheus
// (Debian's package, started by promtest; skipped with a message when the
// binary is missing, mandatory when CI=true). Outages and rejections are
// injected by a reverse proxy in front of that Prometheus.

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/remotewrite/promtest"
)

// rwConfig is e2eConfig with one remote_write sink.
func rwConfig(target, writeURL string) string {
	return e2eConfig("", target, fmt.Sprintf(`  - name: prom
    type: remote_write
    url: %s
    flush_interval: 100ms
`, writeURL))
}

// queryAll runs an instant query at t and renders each result as
// `name{sorted labels but job/instance} value`.
func rwQueryAll(t *testing.T, prom *promtest.Server, expr string, at time.Time) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := prom.Query(ctx, expr, at)
	if err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	out := make([]string, 0, len(res))
	for _, s := range res {
		out = append(out, rwSeriesString(s.Labels, s.Value))
	}
	slices.Sort(out)
	return out
}

func rwSeriesString(ls map[string]string, v float64) string {
	keys := slices.Sorted(maps.Keys(ls))
	var parts []string
	for _, k := range keys {
		if k != "__name__" {
			parts = append(parts, fmt.Sprintf("%s=%q", k, ls[k]))
		}
	}
	return fmt.Sprintf("%s{%s} %g", ls["__name__"], strings.Join(parts, ","), v)
}

// rwIntoPrometheus queries every series and value of every
// scrape back from Prometheus: a counter that resets, a gauge, a histogram,
// a UTF-8 metric and label name (escaped to the legacy charset), and a
// series that disappears after the third scrape and must read as stale
// right away (not for Prometheus' 5-minute lookback).
func rwIntoPrometheus(t *testing.T) {
	prom := promtest.Start(t)
	counter := []float64{5, 9, 2, 7, 11}
	const vanishAfter = 3
	body := func(n int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "# TYPE rw_requests_total counter\nrw_requests_total{code=\"200\"} %g\n", e2eAt(counter, n))
		fmt.Fprintf(&b, "# TYPE rw_temp gauge\nrw_temp{room=\"lab\"} %g\n", 1.5*float64(n))
		fmt.Fprintf(&b, "# TYPE rw_latency_seconds histogram\n"+
			"rw_latency_seconds_bucket{le=\"0.1\"} %d\nrw_latency_seconds_bucket{le=\"1\"} %d\nrw_latency_seconds_bucket{le=\"+Inf\"} %d\n"+
			"rw_latency_seconds_sum %g\nrw_latency_seconds_count %d\n", n, 2*n, 3*n, 0.25*float64(n), 3*n)
		fmt.Fprintf(&b, "{\"rw.utf8-name\",\"dotted.label\"=\"ü\"} %d\n", 10*n)
		if n <= vanishAfter {
			fmt.Fprintf(&b, "# TYPE rw_vanishing gauge\nrw_vanishing{id=\"x\"} %d\n", 40+n)
		}
		return b.String()
	}
	tg := newE2ETarget(t, body)
	u, _ := url.Parse(tg.URL())
	id := fmt.Sprintf("instance=%q,job=\"app\"", u.Host)
	// expected renders what Prometheus must hold at scrape n.
	expected := func(n int) []string {
		out := []string{
			fmt.Sprintf("rw_requests_total{code=\"200\",%s} %g", id, e2eAt(counter, n)),
			fmt.Sprintf("rw_temp{%s,room=\"lab\"} %g", id, 1.5*float64(n)),
			fmt.Sprintf("rw_latency_seconds_bucket{%s,le=\"0.1\"} %d", id, n),
			fmt.Sprintf("rw_latency_seconds_bucket{%s,le=\"1.0\"} %d", id, 2*n),
			fmt.Sprintf("rw_latency_seconds_bucket{%s,le=\"+Inf\"} %d", id, 3*n),
			fmt.Sprintf("rw_latency_seconds_sum{%s} %g", id, 0.25*float64(n)),
			fmt.Sprintf("rw_latency_seconds_count{%s} %d", id, 3*n),
			fmt.Sprintf("rw_utf8_name{dotted_label=\"ü\",%s} %d", id, 10*n),
		}
		if n <= vanishAfter {
			out = append(out, fmt.Sprintf("rw_vanishing{id=\"x\",%s} %d", id, 40+n))
		}
		slices.Sort(out)
		return out
	}

	svc := startE2E(t, rwConfig(tg.URL(), prom.WriteURL))
	pollFor(t, 60*time.Second, "7 scrapes", func() bool { return tg.Scrapes() >= 7 })
	svc.Stop(t)

	// Scrape n's samples are stamped before the target saw the request
	// and before scrape n+1 began, so an instant query at the moment the
	// target answered scrape n reads exactly scrape n's values. The last
	// scrape may have been cut short by the shutdown: skip it.
	checked := 0
	for n := 1; n < tg.Scrapes(); n++ {
		got := rwQueryAll(t, prom, `{__name__=~"rw_.*"}`, tg.ScrapeTime(n))
		if want := expected(n); !slices.Equal(got, want) {
			t.Errorf("scrape %d: Prometheus has\n  %s\nwant\n  %s", n, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		checked++
	}
	last := tg.ScrapeTime(tg.Scrapes() - 1)
	if got := rwQueryAll(t, prom, `resets(rw_requests_total[5m])`, last); len(got) != 1 || !strings.HasSuffix(got[0], "} 1") {
		t.Errorf("resets(rw_requests_total[5m]) = %v, want 1", got)
	}
	// Stale, not merely absent from a later scrape: without the marker the
	// instant query would return 43 for five minutes.
	if got := rwQueryAll(t, prom, `rw_vanishing`, tg.ScrapeTime(vanishAfter+1)); len(got) != 0 {
		t.Errorf("rw_vanishing after it disappeared: %v, want nothing (stale)", got)
	}
	if got := rwQueryAll(t, prom, `count_over_time(rw_vanishing[5m])`, last); len(got) != 1 || !strings.HasSuffix(got[0], fmt.Sprintf("} %d", vanishAfter)) {
		t.Errorf("count_over_time(rw_vanishing[5m]) = %v, want %d real samples", got, vanishAfter)
	}
	if n := svc.metric(t, "promfwd_sink_requests_total", map[string]string{"sink": "prom", "outcome": "permanent_error"}); n != 0 {
		t.Errorf("Prometheus rejected %v requests", n)
	}
	t.Logf("checked every series of %d scrapes against Prometheus; last: %v", checked, rwQueryAll(t, prom, `{__name__=~"rw_.*"}`, last))
}

// rwProxy sits in front of the real Prometheus and answers with a fault
// instead of forwarding while one is set.
type rwProxy struct {
	srv   *httptest.Server
	proxy *httputil.ReverseProxy

	mu       sync.Mutex
	until    time.Time // answer status until then
	failNext int       // or for this many requests
	status   int
	body     string
	answered map[int]int // status -> count
}

func newRWProxy(t *testing.T, prom *promtest.Server) *rwProxy {
	t.Helper()
	u, err := url.Parse(prom.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := &rwProxy{proxy: httputil.NewSingleHostReverseProxy(u), answered: map[int]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		fail := time.Now().Before(p.until) || p.failNext > 0
		if p.failNext > 0 {
			p.failNext--
		}
		status, body := p.status, p.body
		if fail {
			p.answered[status]++
		}
		p.mu.Unlock()
		if fail {
			_, _ = io.Copy(io.Discard, r.Body)
			http.Error(w, body, status)
			return
		}
		rec := &rwStatusRecorder{ResponseWriter: w, status: http.StatusOK}
		p.proxy.ServeHTTP(rec, r)
		p.mu.Lock()
		p.answered[rec.status]++
		p.mu.Unlock()
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *rwProxy) writeURL() string { return p.srv.URL + "/api/v1/write" }

func (p *rwProxy) failFor(d time.Duration, status int, body string) {
	p.mu.Lock()
	p.until, p.status, p.body = time.Now().Add(d), status, body
	p.mu.Unlock()
}

func (p *rwProxy) failOnce(status int, body string) {
	p.mu.Lock()
	p.failNext, p.status, p.body = 1, status, body
	p.mu.Unlock()
}

func (p *rwProxy) count(status int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.answered[status]
}

type rwStatusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *rwStatusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// seqInProm returns, for each scrape 1..n-1, the seq_gauge value Prometheus
// holds at that scrape's time (0 when none).
func seqInProm(t *testing.T, prom *promtest.Server, tg *e2eTarget) []float64 {
	t.Helper()
	var out []float64
	for n := 1; n < tg.Scrapes(); n++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := prom.Query(ctx, "seq_gauge", tg.ScrapeTime(n))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		v := 0.0
		if len(res) == 1 {
			v = res[0].Value
		}
		out = append(out, v)
	}
	return out
}

// rwRejectedBatchDropped: one 400 that names no sample drops that request
// with a log line quoting the receiver; later requests reach Prometheus. (A
// 400 naming samples is split instead: sinks/remotewrite split_test.go.)
func rwRejectedBatchDropped(t *testing.T) {
	prom := promtest.Start(t)
	px := newRWProxy(t, prom)
	tg := newE2ETarget(t, e2eSeqBody)
	svc := startE2E(t, rwConfig(tg.URL(), px.writeURL()))

	pollFor(t, 30*time.Second, "two writes", func() bool { return px.count(http.StatusNoContent) >= 2 })
	const reason = "invalid label set"
	px.failOnce(http.StatusBadRequest, reason)
	pollFor(t, 30*time.Second, "the rejection", func() bool { return px.count(http.StatusBadRequest) == 1 })
	after := px.count(http.StatusNoContent) + 2
	pollFor(t, 30*time.Second, "later writes", func() bool { return px.count(http.StatusNoContent) >= after })
	svc.Stop(t)

	got := seqInProm(t, prom, tg)
	var missing []int
	for i, v := range got {
		switch n := i + 1; v {
		case float64(n):
		case float64(n - 1): // the previous sample, within the lookback: n never arrived
			missing = append(missing, n)
		default:
			t.Errorf("scrape %d: seq_gauge %v", n, v)
		}
	}
	if len(missing) != 1 {
		t.Errorf("scrapes missing in Prometheus: %v, want exactly the rejected one", missing)
	}
	if d := svc.metric(t, "promfwd_sink_dropped_samples_total", map[string]string{"sink": "prom", "reason": "rejected"}); d != 2 {
		t.Errorf("dropped{rejected} = %v, want 2 (one scrape)", d)
	}
	logs := svc.logsMatching("destination rejected request")
	if len(logs) != 1 {
		t.Fatalf("%d 'rejected' log lines, want 1", len(logs))
	}
	if msg := fmt.Sprint(logs[0].ContextMap()["error"]); !strings.Contains(msg, "status 400") || !strings.Contains(msg, reason) {
		t.Errorf("log error %q lacks the status and the receiver's reason", msg)
	}
	t.Logf("rejected scrape %v; %d scrapes checked in Prometheus; log: %v", missing, len(got), logs[0].ContextMap()["error"])
}
