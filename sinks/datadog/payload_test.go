package datadog

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/datadog/ddtest"
)

// bigBatch returns n samples: gauges with a few labels, and every tenth
// block a 5-sample histogram group. Values vary so the JSON is not trivial
// to compress.
func bigBatch(n int, ts time.Time, rng *rand.Rand) []scrape.Sample {
	out := make([]scrape.Sample, 0, n)
	gmeta := &scrape.Meta{Family: "container_memory_bytes", Type: scrape.TypeGauge}
	hmeta := &scrape.Meta{Family: "latency_seconds", Type: scrape.TypeHistogram}
	for i := 0; len(out) < n; i++ {
		if i%10 == 9 && n-len(out) >= 5 {
			g := histogram(hmeta, 1, 2, 3, 4, ts)
			for k := range g {
				ls := g[k].Labels.AppendTo(scrape.Labels{{Name: "id", Value: strconv.Itoa(i)}})
				g[k].Labels, g[k].Hash = scrape.SetOf(ls), scrape.SeriesHash(g[k].Name, ls)
			}
			out = append(out, g...)
			continue
		}
		ls := labels("container", fmt.Sprintf("c-%06d", i), "image", "registry.example.com/app:"+strconv.Itoa(i%50), "node", "node-"+strconv.Itoa(i%7))
		out = append(out, sample("container_memory_bytes", scrape.KindGauge, gmeta, ls, float64(rng.Int64N(1<<34)), ts))
	}
	return out
}

// infBuckets counts +Inf bucket samples: they travel as the histogram's
// _count (upper_bound:none), not as a series of their own.
func infBuckets(batch []scrape.Sample) int {
	n := 0
	for _, s := range batch {
		if s.Kind == scrape.KindHistogramBucket && s.Labels.Get("le") == "+Inf" {
			n++
		}
	}
	return n
}

// decodeRequest decompresses a request body and returns its series.
func decodeRequest(t *testing.T, enc string, r sinks.Request) []map[string]any {
	t.Helper()
	raw, err := decompress(enc, r.Body)
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Series []map[string]any }
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("request body is not JSON: %v", err)
	}
	return p.Series
}

// histogramOwners maps each histogram's id tag to the requests holding its series.
func histogramOwners(t *testing.T, enc string, reqs []sinks.Request) map[string]map[int]bool {
	owners := map[string]map[int]bool{}
	for i, r := range reqs {
		for _, s := range decodeRequest(t, enc, r) {
			if s["metric"] == "container_memory_bytes" {
				continue
			}
			for _, tg := range s["tags"].([]any) {
				if tag := tg.(string); len(tag) > 3 && tag[:3] == "id:" {
					if owners[tag] == nil {
						owners[tag] = map[int]bool{}
					}
					owners[tag][i] = true
				}
			}
		}
	}
	return owners
}

func TestSplit20kSeries(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SendCountersAs = CountersAsGauge }, options{})
	batch := bigBatch(20_000, h.clock.Now(), rand.New(rand.NewPCG(1, 2)))
	enc := h.push(batch)
	if len(enc.Requests) < 2 {
		t.Fatalf("%d requests for 20k series", len(enc.Requests))
	}
	total := 0
	for i, r := range enc.Requests {
		total += r.Samples
		rq := h.rcv.Requests()[i]
		t.Logf("request %d: %d series, %d bytes compressed, %d bytes JSON", i, rq.Series, rq.CompressedBytes, rq.DecompressedBytes)
		if rq.Status != 202 || rq.Points > 10_000 || rq.CompressedBytes > 512_000 || rq.DecompressedBytes > 5_242_880 {
			t.Errorf("request %d out of limits: %+v", i, rq)
		}
	}
	wantSeries := len(batch) - infBuckets(batch)
	if got := len(h.rcv.Series()); got != wantSeries || total != wantSeries {
		t.Errorf("received %d series, requests carry %d samples, want %d", got, total, wantSeries)
	}
	for id, in := range histogramOwners(t, CompressionGzip, enc.Requests) {
		if len(in) != 1 {
			t.Errorf("histogram %s split across requests %v", id, in)
		}
	}
}

func TestSplitByCompressedSize(t *testing.T) {
	lim := limits{compressed: 8_000, uncompressed: 5_242_880, points: 10_000}
	for _, c := range []string{CompressionGzip, CompressionDeflate} {
		t.Run(c, func(t *testing.T) {
			h := newHarness(t, func(cfg *Config) {
				cfg.Compression = c
				cfg.SendCountersAs = CountersAsGauge
			}, options{limits: lim})
			batch := bigBatch(3000, h.clock.Now(), rand.New(rand.NewPCG(3, 4)))
			enc := h.push(batch)
			if len(enc.Requests) < 3 {
				t.Fatalf("only %d requests", len(enc.Requests))
			}
			for i, r := range enc.Requests {
				if len(r.Body) > lim.compressed {
					t.Errorf("request %d: %d bytes compressed > %d", i, len(r.Body), lim.compressed)
				}
			}
			for id, in := range histogramOwners(t, c, enc.Requests) {
				if len(in) != 1 {
					t.Errorf("histogram %s split across requests %v", id, in)
				}
			}
			if got := len(h.rcv.Series()); got != len(batch)-infBuckets(batch) {
				t.Errorf("received %d series", got)
			}
		})
	}
}

func TestOversizedSeriesDropped(t *testing.T) {
	lim := limits{compressed: 512_000, uncompressed: 400, points: 10_000}
	h := newHarness(t, func(c *Config) { c.SendCountersAs = CountersAsGauge }, options{limits: lim})
	huge := strings.Repeat("v", 190) // tags are cut at 200 characters: use three
	enc, err := h.sink.Encode([]scrape.Sample{
		sample("small", scrape.KindGauge, nil, nil, 1, h.clock.Now()),
		sample("big", scrape.KindGauge, nil, labels("x", huge, "y", huge, "z", huge), 1, h.clock.Now()),
	})
	if err != nil {
		t.Fatal(err)
	}
	if enc.Dropped != 1 || len(enc.Requests) != 1 || enc.Requests[0].Samples != 1 {
		t.Fatalf("Dropped %d, %d requests", enc.Dropped, len(enc.Requests))
	}
}

func maxPoints(n int) func(*ddtest.Options) { return func(o *ddtest.Options) { o.MaxPoints = n } }

func Test413SplitsAndResends(t *testing.T) {
	// The receiver is stricter than the sink's limits: 300 points a request.
	h := newHarness(t, func(c *Config) { c.SendCountersAs = CountersAsGauge }, options{}, maxPoints(300))
	batch := bigBatch(1000, h.clock.Now(), rand.New(rand.NewPCG(5, 6)))
	enc, err := h.sink.Encode(batch)
	if err != nil || len(enc.Requests) != 1 {
		t.Fatalf("Encode: %v, %d requests", err, len(enc.Requests))
	}
	if err := h.sink.Send(context.Background(), enc.Requests[0]); err != nil {
		t.Fatalf("Send: %v", err)
	}
	n413 := 0
	for _, r := range h.rcv.Requests() {
		if r.Status == 413 {
			n413++
		}
	}
	if got := len(h.rcv.Series()); got != len(batch)-infBuckets(batch) || n413 == 0 {
		t.Fatalf("received %d series after %d 413 answers (statuses %v)", got, n413, h.statusCodes())
	}
	// Split halves keep histogram groups whole where the cut allows.
	seen := map[string]int{}
	for _, s := range h.rcv.Series() {
		seen[s.Metric]++
	}
	if nh := infBuckets(batch); seen["latency_seconds.count"] != nh*3 || seen["latency_seconds.sum"] != nh {
		t.Errorf("histogram series received: %v", seen)
	}
}

func Test413SingleSeriesIsPermanent(t *testing.T) {
	h := newHarness(t, nil, options{})
	h.rcv.Fail(ddtest.Fault{Status: 413, Count: 1})
	enc, _ := h.sink.Encode([]scrape.Sample{sample("one", scrape.KindGauge, nil, nil, 1, h.clock.Now())})
	err := h.sink.Send(context.Background(), enc.Requests[0])
	if !sinks.IsPermanent(err) {
		t.Fatalf("Send = %v, want a permanent error", err)
	}
}

// Test413RejectedHalfDoesNotDropTheOther: when the intake refuses the first
// half of a split request for good, the second half is still sent, as the
// HEC and remote-write sinks do; the error stays permanent for the refused
// half.
func Test413RejectedHalfDoesNotDropTheOther(t *testing.T) {
	h := newHarness(t, nil, options{})
	h.rcv.Fail(ddtest.Fault{Status: 413, Count: 1})
	h.rcv.Fail(ddtest.Fault{Status: 400, Count: 1})
	now := h.clock.Now()
	enc, _ := h.sink.Encode([]scrape.Sample{
		sample("first", scrape.KindGauge, nil, nil, 1, now),
		sample("second", scrape.KindGauge, nil, nil, 2, now),
	})
	err := h.sink.Send(context.Background(), enc.Requests[0])
	if !sinks.IsPermanent(err) {
		t.Fatalf("Send = %v, want the refused half's permanent error", err)
	}
	got := h.rcv.Series()
	if len(got) != 1 || got[0].Metric != "second" {
		t.Fatalf("accepted series %v, want the second half (statuses %v)", got, h.statusCodes())
	}
}

// Test413EverythingIsBounded: an intake answering 413 to everything gets
// at most 1+MaxSplitRequests requests from one Send (as HEC and
// remote-write are bounded), not the 2n-1 of halving down to single
// series, and the Send ends permanently.
func Test413EverythingIsBounded(t *testing.T) {
	h := newHarness(t, nil, options{})
	h.rcv.Fail(ddtest.Fault{Status: 413, Count: 1 << 20})
	now := h.clock.Now()
	batch := make([]scrape.Sample, 500)
	for i := range batch {
		batch[i] = sample(fmt.Sprintf("m%d", i), scrape.KindGauge, nil, nil, 1, now)
	}
	enc, err := h.sink.Encode(batch)
	if err != nil || len(enc.Requests) != 1 {
		t.Fatalf("Encode: %v, %d requests; want 1", err, len(enc.Requests))
	}
	if err := h.sink.Send(context.Background(), enc.Requests[0]); !sinks.IsPermanent(err) {
		t.Fatalf("Send = %v, want a permanent error", err)
	}
	n := len(h.rcv.Requests())
	t.Logf("500 series, intake answering 413 to everything: %d requests", n)
	if n > 1+sinks.MaxSplitRequests {
		t.Errorf("intake saw %d requests, want at most %d", n, 1+sinks.MaxSplitRequests)
	}
	if len(h.rcv.Series()) != 0 {
		t.Errorf("accepted %d series from an intake refusing everything", len(h.rcv.Series()))
	}
}
