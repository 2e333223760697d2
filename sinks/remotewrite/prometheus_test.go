package remotewrite

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/remotewrite/promtest"
)

// Two scrapes of one target: counters, gauges with an upper-case label, a
// histogram, a counter reset, a UTF-8 metric name in the quoted syntax and a
// series (queue_depth) that disappears in the second scrape.
var expositions = [2]string{`# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200",method="GET"} 1027
http_requests_total{code="500",method="GET"} 3
# TYPE temperature_celsius gauge
temperature_celsius{Room="kitchen"} 21.5
temperature_celsius{Room="garage"} -3.25
# TYPE request_duration_seconds histogram
request_duration_seconds_bucket{le="0.1"} 10
request_duration_seconds_bucket{le="1"} 25
request_duration_seconds_bucket{le="+Inf"} 30
request_duration_seconds_sum 12.5
request_duration_seconds_count 30
# TYPE restarts_total counter
restarts_total 100
# TYPE "my.metric-name" gauge
{"my.metric-name",env="prod"} 7
# TYPE queue_depth gauge
queue_depth{queue="jobs"} 12
`, `# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200",method="GET"} 1100
http_requests_total{code="500",method="GET"} 4
# TYPE temperature_celsius gauge
temperature_celsius{Room="kitchen"} 22
temperature_celsius{Room="garage"} -4.5
# TYPE request_duration_seconds histogram
request_duration_seconds_bucket{le="0.1"} 12
request_duration_seconds_bucket{le="1"} 31
request_duration_seconds_bucket{le="+Inf"} 40
request_duration_seconds_sum 17.25
request_duration_seconds_count 40
# TYPE restarts_total counter
restarts_total 4
# TYPE "my.metric-name" gauge
{"my.metric-name",env="prod"} 8
`}

// What Prometheus must return at each scrape's time, by series. Names are
// escaped, le normalised by the parser; queue_depth is stale at T2.
var wantAt = [2]map[string]float64{{
	`http_requests_total{code="200",method="GET"}`: 1027,
	`http_requests_total{code="500",method="GET"}`: 3,
	`temperature_celsius{Room="kitchen"}`:          21.5,
	`temperature_celsius{Room="garage"}`:           -3.25,
	`request_duration_seconds_bucket{le="0.1"}`:    10,
	`request_duration_seconds_bucket{le="1.0"}`:    25,
	`request_duration_seconds_bucket{le="+Inf"}`:   30,
	`request_duration_seconds_sum{}`:               12.5,
	`request_duration_seconds_count{}`:             30,
	`restarts_total{}`:                             100,
	`my_metric_name{env="prod"}`:                   7,
	`queue_depth{queue="jobs"}`:                    12,
}, {
	`http_requests_total{code="200",method="GET"}`: 1100,
	`http_requests_total{code="500",method="GET"}`: 4,
	`temperature_celsius{Room="kitchen"}`:          22,
	`temperature_celsius{Room="garage"}`:           -4.5,
	`request_duration_seconds_bucket{le="0.1"}`:    12,
	`request_duration_seconds_bucket{le="1.0"}`:    31,
	`request_duration_seconds_bucket{le="+Inf"}`:   40,
	`request_duration_seconds_sum{}`:               17.25,
	`request_duration_seconds_count{}`:             40,
	`restarts_total{}`:                             4,
	`my_metric_name{env="prod"}`:                   8,
}}

// scrapeTarget fetches the target once and parses the answer with the
// scrape package's parser, adding a run label so test runs stay apart.
func scrapeTarget(t *testing.T, p *scrape.Parser, c *http.Client, url string, nowMs int64, run string) []scrape.Sample {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := p.Parse(scrape.FormatFromContentType(resp.Header.Get("Content-Type")), body, scrape.ParseOptions{
		NowMs:        nowMs,
		TargetLabels: scrape.Labels{{Name: "run", Value: run}},
	})
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	return samples
}

// staleMarkers does what the forwarder does when series disappear: one
// sample with the StaleNaN bits at the new scrape's time per lost series.
func staleMarkers(prev, cur []scrape.Sample, ts int64) []scrape.Sample {
	seen := map[uint64]bool{}
	for _, s := range cur {
		seen[s.Hash] = true
	}
	var out []scrape.Sample
	for _, s := range prev {
		if !seen[s.Hash] {
			s.Value, s.TimestampMs = math.Float64frombits(scrape.StaleNaN), ts
			out = append(out, s)
		}
	}
	return out
}

func seriesString(ls map[string]string) string {
	var names []string
	for n := range ls {
		if n != "__name__" && n != "run" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString(ls["__name__"] + "{")
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", n, ls[n])
	}
	b.WriteByte('}')
	return b.String()
}

// sendAll sends each shard's requests in order, shards in parallel, as the
// shared runner does.
func sendAll(t *testing.T, s *Sink, enc sinks.Encoded) {
	t.Helper()
	byShard := map[uint32][]sinks.Request{}
	for _, r := range enc.Requests {
		byShard[r.Shard] = append(byShard[r.Shard], r)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(enc.Requests))
	for _, reqs := range byShard {
		wg.Go(func() {
			for _, r := range reqs {
				if err := s.Send(t.Context(), r); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Send: %v", err)
	}
}

func TestAgainstPrometheus(t *testing.T) {
	prom := promtest.Start(t)

	var scrapeNo atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = io.WriteString(w, expositions[scrapeNo.Load()])
	}))
	defer target.Close()

	// Recent timestamps: Prometheus rejects samples too far in the past.
	t1 := time.Now().Add(-3 * time.Minute).Truncate(time.Second)
	t2 := t1.Add(time.Minute)

	modes := []struct {
		run               string
		shards, maxPerReq int
		oneBatch          bool // both scrapes and the stale markers in one Encode
	}{
		{run: "separate", shards: 1, maxPerReq: DefaultMaxSamplesPerSend},
		{run: "merged", shards: 3, maxPerReq: 4, oneBatch: true},
	}
	for _, m := range modes {
		scrapeNo.Store(0)
		p := scrape.NewParser()
		first := scrapeTarget(t, p, target.Client(), target.URL, t1.UnixMilli(), m.run)
		scrapeNo.Store(1)
		second := scrapeTarget(t, p, target.Client(), target.URL, t2.UnixMilli(), m.run)
		second = append(second, staleMarkers(first, second, t2.UnixMilli())...)

		cfg := configFor(prom.WriteURL)
		cfg.Shards, cfg.MaxSamplesPerSend = m.shards, m.maxPerReq
		s := fastSink(t, cfg, sinks.Settings{UserAgent: "promfwd/test"})
		batches := [][]scrape.Sample{first, second}
		if m.oneBatch {
			batches = [][]scrape.Sample{append(slices.Clone(first), second...)}
		}
		for _, b := range batches {
			enc, err := s.Encode(b)
			if err != nil {
				t.Fatal(err)
			}
			if enc.Dropped != 0 {
				t.Errorf("%s: %d samples dropped", m.run, enc.Dropped)
			}
			if m.oneBatch && len(enc.Requests) < 2*m.shards {
				t.Errorf("%s: only %d requests; the mode is meant to exercise many", m.run, len(enc.Requests))
			}
			sendAll(t, s, enc)
		}
	}

	for _, m := range modes {
		for i, at := range []time.Time{t1, t2, t2.Add(30 * time.Second)} {
			want := wantAt[min(i, 1)]
			t.Run(fmt.Sprintf("%s/at_T%d", m.run, i+1), func(t *testing.T) {
				got, err := prom.Query(t.Context(), fmt.Sprintf(`{run=%q}`, m.run), at)
				if err != nil {
					t.Fatal(err)
				}
				gotMap := map[string]float64{}
				for _, smp := range got {
					gotMap[seriesString(smp.Labels)] = smp.Value
				}
				for k, w := range want {
					if g, ok := gotMap[k]; !ok || g != w {
						t.Errorf("%s = %v (present %v), want %v", k, g, ok, w)
					}
				}
				for k, g := range gotMap {
					if _, ok := want[k]; !ok {
						t.Errorf("unexpected series %s = %v", k, g)
					}
				}
			})
		}
		t.Run(m.run+"/counter_reset", func(t *testing.T) {
			got, err := prom.Query(t.Context(), fmt.Sprintf(`resets(restarts_total{run=%q}[5m])`, m.run), t2)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Value != 1 {
				t.Errorf("resets() = %+v, want one series with 1", got)
			}
		})
	}

	t.Run("out of order sample is a permanent error", func(t *testing.T) {
		s := fastSink(t, configFor(prom.WriteURL), sinks.Settings{})
		send := func(ts time.Time) error {
			enc, err := s.Encode([]scrape.Sample{smp("ooo_probe", ts.UnixMilli(), 1)})
			if err != nil {
				t.Fatal(err)
			}
			return s.Send(t.Context(), enc.Requests[0])
		}
		if err := send(t2); err != nil {
			t.Fatal(err)
		}
		err := send(t2.Add(-30 * time.Second))
		var pe *sinks.PermanentError
		if !errors.As(err, &pe) {
			t.Fatalf("Send = %v, want a *sinks.PermanentError", err)
		}
		if pe.Status != http.StatusBadRequest || !strings.Contains(pe.Reason, "out of order") {
			t.Errorf("PermanentError{Status: %d, Reason: %q}; want 400 and Prometheus' out-of-order message", pe.Status, pe.Reason)
		}
	})
}
