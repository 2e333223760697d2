package forwarder

// End to end for exemplars over remote-write (issue 20 item 9): the running
// service scrapes an OpenMetrics target on 127.0.0.1 and writes into a real
// Prometheus started with exemplar storage; the exemplars are read back
// through /api/v1/query_exemplars. A second remote_write sink without
// send_exemplars, fed by the same source, must receive none.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/promfwd/promfwd/sinks/remotewrite/promtest"
)

// exemplarCounter is a remote-write receiver that counts the TimeSeries
// and the exemplars (TimeSeries field 3) it is sent.
type exemplarCounter struct {
	srv               *httptest.Server
	series, exemplars atomic.Int64
}

func newExemplarCounter(t *testing.T) *exemplarCounter {
	t.Helper()
	c := &exemplarCounter{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			body, err = snappy.Decode(nil, body)
		}
		if err == nil {
			err = eachField(body, func(num protowire.Number, ts []byte, _ uint64) error {
				if num != 1 {
					return nil
				}
				c.series.Add(1)
				return eachField(ts, func(num protowire.Number, _ []byte, _ uint64) error {
					if num == 3 {
						c.exemplars.Add(1)
					}
					return nil
				})
			})
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// omTarget serves body(n) as OpenMetrics for scrape n (from 1) and
// remembers when each scrape arrived.
type omTarget struct {
	srv   *httptest.Server
	mu    sync.Mutex
	times []time.Time
}

func newOMTarget(t *testing.T, body func(n int, now time.Time) string) *omTarget {
	t.Helper()
	tg := &omTarget{}
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		now := time.Now()
		tg.mu.Lock()
		tg.times = append(tg.times, now)
		n := len(tg.times)
		tg.mu.Unlock()
		w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
		_, _ = fmt.Fprint(w, body(n, now))
	}))
	t.Cleanup(tg.srv.Close)
	return tg
}

func (tg *omTarget) scrapes() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return len(tg.times)
}

func TestE2ERemoteWriteExemplars(t *testing.T) {
	t.Parallel()
	prom := promtest.Start(t, promtest.ExemplarFlag)
	plain := newExemplarCounter(t)

	// The counter's exemplar is new at every scrape and has its own
	// timestamp; the le="1" bucket's is always the same and has none, so
	// it takes the scrape time and is sent once (Prometheus would store
	// it once too).
	var first atomic.Int64 // the first scrape's exemplar timestamp, ms
	tg := newOMTarget(t, func(n int, now time.Time) string {
		exTS := now.Add(-time.Second).UnixMilli()
		if n == 1 {
			first.Store(exTS)
		}
		return fmt.Sprintf(`# TYPE ex_jobs counter
ex_jobs_total{q="a"} %d # {trace_id="t%d"} 1 %d.%03d
# TYPE ex_lat_seconds histogram
ex_lat_seconds_bucket{le="0.1"} 1
ex_lat_seconds_bucket{le="1"} 2 # {trace_id="slow"} 0.7
ex_lat_seconds_bucket{le="+Inf"} 2
ex_lat_seconds_sum 0.8
ex_lat_seconds_count 2
# EOF
`, n, n, exTS/1000, exTS%1000)
	})
	sinksYAML := fmt.Sprintf(`  - name: prom
    type: remote_write
    url: %s
    flush_interval: 100ms
    send_exemplars: true
  - name: plain
    type: remote_write
    url: %s
    flush_interval: 100ms
`, prom.WriteURL, plain.srv.URL+"/api/v1/write")
	svc := startE2E(t, e2eConfig("", tg.srv.URL+"/metrics", sinksYAML))
	pollFor(t, 60*time.Second, "4 scrapes", func() bool { return tg.scrapes() >= 4 })
	svc.Stop(t)
	scrapes := tg.scrapes()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	from, to := time.Now().Add(-10*time.Minute), time.Now().Add(time.Minute)
	jobs, err := prom.QueryExemplars(ctx, `ex_jobs_total`, from, to)
	if err != nil {
		t.Fatal(err)
	}
	// Every delivered scrape's counter exemplar; the last scrape may have
	// been cut short by the shutdown.
	if len(jobs) < scrapes-1 || len(jobs) > scrapes {
		t.Fatalf("ex_jobs_total has %d exemplars after %d scrapes: %+v", len(jobs), scrapes, jobs)
	}
	e := jobs[0]
	if e.Labels["trace_id"] != "t1" || e.Value != 1 || e.Time.UnixMilli() != first.Load() ||
		e.Series["q"] != "a" || e.Series["job"] != "app" || !strings.HasPrefix(e.Series["instance"], "127.0.0.1:") {
		t.Fatalf("first ex_jobs_total exemplar = %+v, want trace_id=t1, value 1 at %d on {q=a, job=app}", e, first.Load())
	}

	lat, err := prom.QueryExemplars(ctx, `ex_lat_seconds_bucket{le="1.0"}`, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(lat) != 1 || lat[0].Labels["trace_id"] != "slow" || lat[0].Value != 0.7 {
		t.Fatalf("ex_lat_seconds_bucket{le=\"1.0\"} exemplars = %+v, want one (trace_id=slow, 0.7), sent once", lat)
	}
	// Without its own timestamp it is stored under its sample's: the
	// first scrape's time, which is that sample's timestamp.
	vec, err := prom.Query(ctx, `timestamp(ex_lat_seconds_bucket{le="1.0"})`, lat[0].Time)
	if err != nil {
		t.Fatal(err)
	}
	if len(vec) != 1 || int64(vec[0].Value*1000+0.5) != lat[0].Time.UnixMilli() {
		t.Fatalf("bucket sample timestamp at the exemplar's time %v = %+v, want the exemplar's", lat[0].Time, vec)
	}
	if others, err := prom.QueryExemplars(ctx, `{__name__=~"ex_lat_seconds_(bucket|sum|count)",le!="1.0"}`, from, to); err != nil || len(others) != 0 {
		t.Fatalf("exemplars on series that had none: %+v (%v)", others, err)
	}

	if plain.series.Load() == 0 {
		t.Fatal("the send_exemplars: false sink received nothing")
	}
	if n := plain.exemplars.Load(); n != 0 {
		t.Fatalf("the send_exemplars: false sink received %d exemplars", n)
	}
	t.Logf("%d scrapes: Prometheus holds %d counter exemplars and 1 bucket exemplar; the plain sink got %d series, 0 exemplars",
		scrapes, len(jobs), plain.series.Load())
}
