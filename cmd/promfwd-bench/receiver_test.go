package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"go.uber.org/zap"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/datadog"
	"github.com/promfwd/promfwd/sinks/hec"
	"github.com/promfwd/promfwd/sinks/remotewrite"
)

// testSamples is n gauges and counters of distinct series at one time.
func testSamples(n int, ts int64) []scrape.Sample {
	out := make([]scrape.Sample, n)
	for i := range out {
		ls := scrape.Labels{{Name: "i", Value: fmt.Sprint(i)}}
		kind, name := scrape.KindGauge, "g"
		if i%2 == 1 {
			kind, name = scrape.KindCounter, "c_total"
		}
		out[i] = scrape.Sample{Name: name, Labels: scrape.SetOf(ls), Value: float64(i), TimestampMs: ts, Kind: kind, Hash: scrape.SeriesHash(name, ls)}
	}
	return out
}

func newSink(t *testing.T, kind, url string) sinks.Sink {
	t.Helper()
	set := sinks.Settings{Name: "t", Logger: zap.NewNop(), UserAgent: "promfwd/test"}
	var s sinks.Sink
	var err error
	switch kind {
	case "hec":
		c := hec.DefaultConfig()
		c.URL, c.Token, c.Host, c.MaxEvents = url, commoncfg.Secret("tok"), "h", 7
		s, err = hec.New(c, set)
	case "remote_write":
		c := remotewrite.DefaultConfig()
		c.URL, c.MaxSamplesPerSend = url+"/api/v1/write", 7
		s, err = remotewrite.New(c, set)
	case "datadog":
		c := datadog.DefaultConfig()
		c.URL, c.APIKey, c.Host, c.SendCountersAs = url, commoncfg.Secret("key"), "h", datadog.CountersAsGauge
		s, err = datadog.New(c, set)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The counting receivers decode what the real sinks send and count every
// sample; remote-write also flags a series whose timestamp does not advance.
func TestReceiverCountsWhatSinksSend(t *testing.T) {
	for _, kind := range []string{"hec", "remote_write", "datadog"} {
		t.Run(kind, func(t *testing.T) {
			r := newReceiver(kind, "")
			url, srv, err := r.serve()
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			s := newSink(t, kind, url)
			defer s.Close()
			send := func(samples []scrape.Sample) {
				t.Helper()
				enc, err := s.Encode(samples)
				if err != nil {
					t.Fatal(err)
				}
				for _, req := range enc.Requests {
					if err := s.Send(context.Background(), req); err != nil {
						t.Fatalf("send: %v (receiver: %v)", err, r.lastErr.Load())
					}
				}
			}
			// Datadog drops points over an hour old: use the present.
			now := time.Now().Add(-time.Minute).UnixMilli()
			send(testSamples(50, now))
			send(testSamples(50, now+5000))
			c := r.snapshot()
			if c.Samples != 100 || c.Bad != 0 || c.Requests < 2 || c.Wire == 0 || c.Raw <= c.Wire {
				t.Fatalf("counts %+v, want 100 samples, none bad, compressed bodies", c)
			}
			if kind != "remote_write" {
				return
			}
			if r.dups != 0 || r.outOfOrd != 0 {
				t.Fatalf("dups %d out-of-order %d on a clean stream", r.dups, r.outOfOrd)
			}
			send(testSamples(10, now+5000)) // same timestamps again
			send(testSamples(10, now+1000)) // older
			if r.dups != 10 || r.outOfOrd != 10 {
				t.Fatalf("dups %d out-of-order %d, want 10 and 10", r.dups, r.outOfOrd)
			}
		})
	}
}

func TestReceiverRejectsGarbage(t *testing.T) {
	r := newReceiver("remote_write", "")
	url, srv, err := r.serve()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/write", strings.NewReader("not snappy"))
	req.Header.Set("Content-Encoding", "snappy")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || r.snapshot().Bad != 1 {
		t.Fatalf("status %d bad %d, want 400 and 1", resp.StatusCode, r.snapshot().Bad)
	}
}

// The synthetic target serves the workload's mix and moves every value on
// each scrape; the project's own parser must accept it.
func TestTargetExposition(t *testing.T) {
	tg := newTarget(0, workload{Series: 2000, Labels: 6, Churn: 1})
	parse := func(n int64) []scrape.Sample {
		tg.render(n)
		s, err := scrape.NewParser().Parse(scrape.FormatText, tg.buf.Bytes(), scrape.ParseOptions{NowMs: 1})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := parse(1), parse(2)
	if len(a) != 2000 || len(b) != 2000 {
		t.Fatalf("samples %d and %d, want 2000", len(a), len(b))
	}
	kinds := map[scrape.Kind]int{}
	for i := range a {
		kinds[a[i].Kind]++
		if a[i].Value == b[i].Value {
			t.Fatalf("%s%s did not change between scrapes", a[i].Name, a[i].Labels)
		}
		if n := a[i].Labels.Len(); n < 3 || n > 7 { // 3-6 labels, le on buckets
			t.Fatalf("%s has %d labels", a[i].Name, n)
		}
	}
	if kinds[scrape.KindCounter] < 1150 || kinds[scrape.KindGauge] != 600 || kinds[scrape.KindHistogramBucket] == 0 {
		t.Fatalf("kind mix %v", kinds)
	}
	sc := bufio.NewScanner(bytes.NewReader(tg.buf.Bytes()))
	types := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "# TYPE ") {
			types++
		}
	}
	// One TYPE per family: 1208 counters in 13 families of 100, 600
	// gauges in 6, 16 histograms in 1 family of 20.
	if types != 20 {
		t.Fatalf("%d # TYPE lines, want 20", types)
	}
}

// vmagent sends MetricMetadata (WriteRequest field 3) beside the series;
// the receiver skips it and still counts the samples of field 1.
func TestReceiverSkipsMetadata(t *testing.T) {
	var ts []byte // TimeSeries{labels: [__name__="m"], samples: [{value 1, ts 5}]}
	label := protowire.AppendTag(nil, 1, protowire.BytesType)
	label = protowire.AppendString(label, "__name__")
	label = protowire.AppendTag(label, 2, protowire.BytesType)
	label = protowire.AppendString(label, "m")
	ts = protowire.AppendTag(ts, 1, protowire.BytesType)
	ts = protowire.AppendBytes(ts, label)
	sample := protowire.AppendTag(nil, 1, protowire.Fixed64Type)
	sample = protowire.AppendFixed64(sample, 0x3ff0000000000000)
	sample = protowire.AppendTag(sample, 2, protowire.VarintType)
	sample = protowire.AppendVarint(sample, 5)
	ts = protowire.AppendTag(ts, 2, protowire.BytesType)
	ts = protowire.AppendBytes(ts, sample)
	meta := protowire.AppendTag(nil, 4, protowire.BytesType) // metric_family_name
	meta = protowire.AppendString(meta, "m")
	var wr []byte
	wr = protowire.AppendTag(wr, 1, protowire.BytesType)
	wr = protowire.AppendBytes(wr, ts)
	wr = protowire.AppendTag(wr, 3, protowire.BytesType)
	wr = protowire.AppendBytes(wr, meta)
	r := newReceiver("remote_write", "")
	n, err := r.countWriteRequest(wr)
	if err != nil || n != 1 {
		t.Fatalf("countWriteRequest = %d, %v; want 1 sample, no error", n, err)
	}
	if _, err := r.countWriteRequest(protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), ts)); err == nil {
		t.Fatal("an unknown WriteRequest field was accepted")
	}
}
