package remotewrite

import (
	"context"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/remotewrite/promtest"
)

type wireMeta struct {
	Type             uint64
	Name, Help, Unit string
}

// decodeMetadata returns the MetricMetadata of a request; ok is false when
// it carries time series too (Prometheus sends metadata on its own).
func decodeMetadata(t *testing.T, body []byte) (out []wireMeta, ok bool) {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	ok = true
	err = eachField(raw, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
		if num != 3 {
			ok = false
			return nil
		}
		var m wireMeta
		return eachField(val, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
			switch num {
			case 1:
				m.Type = x
			case 2:
				m.Name = string(v)
				out = append(out, m)
			case 4:
				out[len(out)-1].Help = string(v)
			case 5:
				out[len(out)-1].Unit = string(v)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, ok
}

func metaSamples() []scrape.Sample {
	req := &scrape.Meta{Family: "http_requests", Type: scrape.TypeCounter, Help: "Requests served.", Unit: ""}
	temp := &scrape.Meta{Family: "room.temp", Type: scrape.TypeGauge, Help: "Temperature.", Unit: "celsius"}
	a := smp("http_requests_total", 1_700_000_000_000, 3, "code", "200")
	a.Meta = req
	b := smp("http_requests_total", 1_700_000_000_000, 1, "code", "500")
	b.Meta = req
	c := smp("room.temp", 1_700_000_000_000, 21)
	c.Meta = temp
	return []scrape.Sample{a, b, c}
}

// TestEncodeSendsMetadataPeriodically: metadata (TYPE, HELP, UNIT) was
// never sent. It now goes out as Prometheus sends it: in requests of its
// own, at most once per metadata_config.send_interval.
func TestEncodeSendsMetadataPeriodically(t *testing.T) {
	s := fastSink(t, configFor("http://127.0.0.1:1/api/v1/write"), sinks.Settings{})
	now := time.Unix(1_700_000_000, 0)
	s.now = func() time.Time { return now }
	enc, err := s.Encode(metaSamples())
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.Requests) != 2 || enc.Requests[0].Samples != 0 || enc.Requests[1].Samples != 3 {
		t.Fatalf("Encode = %d requests; want a metadata request, then the samples", len(enc.Requests))
	}
	md, only := decodeMetadata(t, enc.Requests[0].Body)
	want := []wireMeta{
		{Type: 1, Name: "http_requests", Help: "Requests served."},
		{Type: 2, Name: "room_temp", Help: "Temperature.", Unit: "celsius"},
	}
	if !only || len(md) != len(want) || md[0] != want[0] || md[1] != want[1] {
		t.Fatalf("metadata %+v (only metadata: %v), want %+v", md, only, want)
	}
	now = now.Add(30 * time.Second)
	if enc, _ := s.Encode(metaSamples()); len(enc.Requests) != 1 {
		t.Fatalf("Encode within send_interval = %d requests, want only the samples", len(enc.Requests))
	}
	now = now.Add(30 * time.Second)
	if enc, _ := s.Encode(metaSamples()); len(enc.Requests) != 2 {
		t.Fatalf("Encode after send_interval = %d requests, want metadata again", len(enc.Requests))
	}

	cfg := configFor("http://127.0.0.1:1/api/v1/write")
	cfg.Metadata.Send = false
	off := fastSink(t, cfg, sinks.Settings{})
	if enc, _ := off.Encode(metaSamples()); len(enc.Requests) != 1 {
		t.Fatalf("metadata_config.send: false: %d requests, want 1", len(enc.Requests))
	}
}

// TestPrometheusAcceptsMetadata: the real receiver takes the metadata
// request (2xx) along with the samples.
func TestPrometheusAcceptsMetadata(t *testing.T) {
	prom := promtest.Start(t)
	s := fastSink(t, configFor(prom.WriteURL), sinks.Settings{})
	samples := metaSamples()
	ts := time.Now().Add(-time.Minute).UnixMilli()
	for i := range samples {
		samples[i].TimestampMs = ts
	}
	enc, err := s.Encode(samples)
	if err != nil || len(enc.Requests) != 2 {
		t.Fatalf("Encode = %d requests, %v", len(enc.Requests), err)
	}
	for i, req := range enc.Requests {
		if err := s.Send(context.Background(), req); err != nil {
			t.Fatalf("request %d (metadata first): %v", i, err)
		}
	}
}
