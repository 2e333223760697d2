package sinks

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/promfwd/promfwd/scrape"
)

// fakeSink encodes a chunk into one request whose body lists the sample
// names, and reports every delivered request on delivered.
type fakeSink struct {
	mu        sync.Mutex
	chunks    [][]scrape.Sample
	encErr    error
	dropEach  int  // Encoded.Dropped per Encode call
	perSample bool // one request per sample, Shard = sample Hash
	send      func(ctx context.Context, req Request) error
	sends     int
	delivered chan Request
}

func newFakeSink() *fakeSink { return &fakeSink{delivered: make(chan Request, 1<<16)} }

func (f *fakeSink) Encode(samples []scrape.Sample) (Encoded, error) {
	f.mu.Lock()
	f.chunks = append(f.chunks, append([]scrape.Sample(nil), samples...))
	err, drop := f.encErr, f.dropEach
	f.mu.Unlock()
	if err != nil {
		return Encoded{}, err
	}
	if f.perSample {
		reqs := make([]Request, len(samples))
		for i, s := range samples {
			reqs[i] = Request{Body: []byte(s.Name), Samples: 1, Shard: uint32(s.Hash)}
		}
		return Encoded{Requests: reqs, Dropped: drop}, nil
	}
	names := make([]string, len(samples))
	for i, s := range samples {
		names[i] = s.Name
	}
	return Encoded{Requests: []Request{{Body: []byte(strings.Join(names, ",")), Samples: len(samples)}}, Dropped: drop}, nil
}

func (f *fakeSink) Send(ctx context.Context, req Request) error {
	f.mu.Lock()
	f.sends++
	send := f.send
	f.mu.Unlock()
	if send != nil {
		if err := send(ctx, req); err != nil {
			return err
		}
	}
	f.delivered <- req
	return nil
}

func (f *fakeSink) Close() error { return nil }

func (f *fakeSink) chunkLens() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n []int
	for _, c := range f.chunks {
		n = append(n, len(c))
	}
	return n
}

func (f *fakeSink) sendCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sends
}

// waitDelivered reads n delivered requests. The timeout only guards against
// a hung test; it asserts nothing about speed.
func waitDelivered(t *testing.T, f *fakeSink, n int) []Request {
	t.Helper()
	var got []Request
	for len(got) < n {
		select {
		case r := <-f.delivered:
			got = append(got, r)
		case <-time.After(30 * time.Second):
			t.Fatalf("got %d delivered requests, want %d", len(got), n)
		}
	}
	return got
}

func gauges(prefix string, n int) []scrape.Sample {
	s := make([]scrape.Sample, n)
	for i := range s {
		s[i] = scrape.Sample{Name: fmt.Sprintf("%s%d", prefix, i), Kind: scrape.KindGauge, Value: float64(i)}
	}
	return s
}

// histograms returns n histogram groups of 5 samples (3 buckets, sum, count).
func histograms(n int) []scrape.Sample {
	meta := &scrape.Meta{Family: "h", Type: scrape.TypeHistogram}
	var s []scrape.Sample
	for g := range n {
		id := scrape.Label{Name: "g", Value: fmt.Sprint(g)}
		for _, le := range []string{"1", "5", "+Inf"} {
			s = append(s, scrape.Sample{Name: "h_bucket", Kind: scrape.KindHistogramBucket, Meta: meta,
				Labels: scrape.SetOf(scrape.Labels{id, {Name: "le", Value: le}})})
		}
		s = append(s,
			scrape.Sample{Name: "h_sum", Kind: scrape.KindHistogramSum, Meta: meta, Labels: scrape.SetOf(scrape.Labels{id})},
			scrape.Sample{Name: "h_count", Kind: scrape.KindHistogramCount, Meta: meta, Labels: scrape.SetOf(scrape.Labels{id})})
	}
	return s
}

// metricValue reads one counter or gauge from reg; labels are name/value pairs.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i < len(labels); i += 2 {
				if labelValue(m, labels[i]) != labels[i+1] {
					continue next
				}
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
