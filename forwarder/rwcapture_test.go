package forwarder

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/promfwd/promfwd/scrape"
)

// rwCapture is a minimal remote-write receiver that keeps every sample it
// is sent (stale markers included, which only remote-write carries).
type rwCapture struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []rwSample
}

type rwSample struct {
	labels map[string]string
	value  float64
	ts     int64 // milliseconds
}

func newRWCapture(t *testing.T) *rwCapture {
	t.Helper()
	c := &rwCapture{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			body, err = snappy.Decode(nil, body)
		}
		var samples []rwSample
		if err == nil {
			samples, err = decodeWriteRequest(body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.got = append(c.got, samples...)
		c.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *rwCapture) URL() string { return c.srv.URL + "/api/v1/write" }

// staleFor reports whether a stale marker arrived for a series with all
// of the want labels.
func (c *rwCapture) staleFor(want map[string]string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
outer:
	for _, s := range c.got {
		if math.Float64bits(s.value) != scrape.StaleNaN {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue outer
			}
		}
		return true
	}
	return false
}

// decodeWriteRequest parses WriteRequest{timeseries=1{labels=1{name=1,
// value=2}, samples=2{value=1 double, timestamp=2}}}.
func decodeWriteRequest(b []byte) ([]rwSample, error) {
	var out []rwSample
	err := eachField(b, func(num protowire.Number, v []byte, _ uint64) error {
		if num != 1 {
			return nil
		}
		labels := map[string]string{}
		var values []float64
		var stamps []int64
		err := eachField(v, func(num protowire.Number, v []byte, _ uint64) error {
			switch num {
			case 1:
				var name, value string
				err := eachField(v, func(num protowire.Number, v []byte, _ uint64) error {
					if num == 1 {
						name = string(v)
					} else if num == 2 {
						value = string(v)
					}
					return nil
				})
				labels[name] = value
				return err
			case 2: // a proto3 zero (value 0, timestamp 0) is not on the wire
				var val float64
				var ts int64
				err := eachField(v, func(num protowire.Number, _ []byte, x uint64) error {
					if num == 1 {
						val = math.Float64frombits(x)
					} else if num == 2 {
						ts = int64(x)
					}
					return nil
				})
				values, stamps = append(values, val), append(stamps, ts)
				return err
			}
			return nil
		})
		for i, val := range values {
			s := rwSample{labels: labels, value: val}
			if i < len(stamps) {
				s.ts = stamps[i]
			}
			out = append(out, s)
		}
		return err
	})
	return out, err
}

// eachField calls f for every field of a message: bytes fields with their
// payload, fixed64 and varint fields with their value.
func eachField(b []byte, f func(protowire.Number, []byte, uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("bad tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			if err := f(num, v, 0); err != nil {
				return err
			}
			b = b[n:]
		case protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			if err := f(num, nil, v); err != nil {
				return err
			}
			b = b[n:]
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			if err := f(num, nil, v); err != nil {
				return err
			}
			b = b[n:]
		default:
			return fmt.Errorf("unexpected wire type %d", typ)
		}
	}
	return nil
}
