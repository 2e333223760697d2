package main

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// receiver is a counting sink endpoint: it decodes every request the way
// the real destination would, counts the samples and answers success.
type receiver struct {
	kind     string
	requests atomic.Int64
	samples  atomic.Int64
	wire     atomic.Int64 // request body bytes as sent (compressed)
	raw      atomic.Int64 // decompressed bytes
	bad      atomic.Int64 // requests that failed to decode

	// remote-write only: per-series order check.
	mu        sync.Mutex
	lastTS    map[uint64]int64
	dups      int64 // samples whose timestamp equals the series' previous one
	outOfOrd  int64 // samples older than the series' previous one
	forward   string
	forwardCl *http.Client
	fwdStatus map[int]int64
	lastErr   atomic.Value // string

	acks    *ackState     // hec with -hec-ack, else nil
	latency time.Duration // -receiver-latency: added before answering a data request
}

type counts struct {
	Requests, Samples, Wire, Raw, Bad int64
}

func (r *receiver) snapshot() counts {
	return counts{r.requests.Load(), r.samples.Load(), r.wire.Load(), r.raw.Load(), r.bad.Load()}
}

func (c counts) sub(o counts) counts {
	return counts{c.Requests - o.Requests, c.Samples - o.Samples, c.Wire - o.Wire, c.Raw - o.Raw, c.Bad - o.Bad}
}

func newReceiver(kind, forward string) *receiver {
	return &receiver{kind: kind, lastTS: map[uint64]int64{}, forward: forward,
		forwardCl: &http.Client{}, fwdStatus: map[int]int64{}}
}

// serve starts the receiver on 127.0.0.1 and returns its base URL.
func (r *receiver) serve() (string, *http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("receiver: listen: %w", err)
	}
	srv := &http.Server{Handler: r}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), srv, nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.acks != nil && req.URL.Path == "/services/collector/ack" {
		r.acks.serveAck(w, req)
		return
	}
	if req.Method != http.MethodPost {
		// HEC health checks and the like: healthy, nothing to count.
		_, _ = io.WriteString(w, `{"text":"HEC is healthy","code":17}`)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.wire.Add(int64(len(body)))
	raw, err := decompress(req.Header.Get("Content-Encoding"), body)
	if err != nil {
		r.fail(w, err)
		return
	}
	r.raw.Add(int64(len(raw)))
	var n int64
	switch r.kind {
	case "hec":
		// Dimension names may not be metric_name and values are quoted
		// strings, so each `"metric_name` token is one measurement in both
		// the single-metric ("metric_name":) and multi-metric
		// ("metric_name:x":) forms.
		if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
			r.fail(w, errors.New("hec: body is not JSON events"))
			return
		}
		n = int64(bytes.Count(raw, []byte(`"metric_name`)))
	case "datadog":
		// Only points carry a "timestamp" key.
		n = int64(bytes.Count(raw, []byte(`"timestamp":`)))
	case "remote_write":
		n, err = r.countWriteRequest(raw)
		if err != nil {
			r.fail(w, err)
			return
		}
	}
	if r.latency > 0 {
		time.Sleep(r.latency) // a distant or busy receiver
	}
	r.requests.Add(1)
	r.samples.Add(n)
	if r.forward != "" {
		r.forwardBody(w, req, body)
		return
	}
	switch r.kind {
	case "hec":
		if r.acks != nil {
			id := r.acks.accept(req.Header.Get("X-Splunk-Request-Channel"), n)
			_, _ = fmt.Fprintf(w, `{"text":"Success","code":0,"ackId":%d}`, id)
			return
		}
		_, _ = io.WriteString(w, `{"text":"Success","code":0}`)
	case "datadog":
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"errors":[]}`)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (r *receiver) fail(w http.ResponseWriter, err error) {
	r.bad.Add(1)
	r.lastErr.Store(err.Error())
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// forwardBody passes the request on to a real receiver (-rw-url) and
// relays its answer.
func (r *receiver) forwardBody(w http.ResponseWriter, in *http.Request, body []byte) {
	out, err := http.NewRequestWithContext(in.Context(), http.MethodPost, r.forward, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, h := range []string{"Content-Type", "Content-Encoding", "X-Prometheus-Remote-Write-Version", "User-Agent"} {
		out.Header.Set(h, in.Header.Get(h))
	}
	resp, err := r.forwardCl.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	r.mu.Lock()
	r.fwdStatus[resp.StatusCode]++
	r.mu.Unlock()
	if resp.StatusCode/100 != 2 {
		r.lastErr.Store(fmt.Sprintf("upstream %d: %s", resp.StatusCode, bytes.TrimSpace(msg)))
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(msg)
}

func decompress(enc string, body []byte) ([]byte, error) {
	switch enc {
	case "":
		return body, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return io.ReadAll(zr)
	case "deflate":
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("deflate: %w", err)
		}
		return io.ReadAll(zr)
	case "snappy":
		out, err := snappy.Decode(nil, body)
		if err != nil {
			return nil, fmt.Errorf("snappy: %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown Content-Encoding %q", enc)
}

// countWriteRequest walks a remote-write 1.0 WriteRequest, counts its
// samples and checks that every series' timestamps strictly increase
// across requests (a duplicate or older sample is what Prometheus rejects).
func (r *receiver) countWriteRequest(b []byte) (int64, error) {
	var n int64
	type seriesTS struct {
		hash uint64
		ts   []int64
	}
	var batch []seriesTS
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 || (num != 1 && num != 3) || typ != protowire.BytesType {
			return 0, errors.New("remote_write: bad WriteRequest field")
		}
		b = b[l:]
		if num == 3 { // MetricMetadata (metadata_config): no samples
			_, ml := protowire.ConsumeBytes(b)
			if ml < 0 {
				return 0, errors.New("remote_write: bad MetricMetadata")
			}
			b = b[ml:]
			continue
		}
		ts, l := protowire.ConsumeBytes(b)
		if l < 0 {
			return 0, errors.New("remote_write: bad TimeSeries")
		}
		b = b[l:]
		if num == 3 {
			continue // MetricMetadata (vmagent sends it): no samples
		}
		h := xxhash.New()
		var stamps []int64
		for len(ts) > 0 {
			fn, ft, fl := protowire.ConsumeTag(ts)
			if fl < 0 || ft != protowire.BytesType {
				return 0, errors.New("remote_write: bad TimeSeries field")
			}
			ts = ts[fl:]
			v, vl := protowire.ConsumeBytes(ts)
			if vl < 0 {
				return 0, errors.New("remote_write: bad TimeSeries bytes")
			}
			ts = ts[vl:]
			switch fn {
			case 1: // Label: hash its raw bytes (names and values in order)
				_, _ = h.Write(v)
			case 2: // Sample{double value = 1; int64 timestamp = 2}
				var t int64
				for len(v) > 0 {
					sn, st, sl := protowire.ConsumeTag(v)
					if sl < 0 {
						return 0, errors.New("remote_write: bad Sample")
					}
					v = v[sl:]
					switch {
					case sn == 1 && st == protowire.Fixed64Type:
						_, xl := protowire.ConsumeFixed64(v) // the value itself is not checked
						if xl < 0 {
							return 0, errors.New("remote_write: bad value")
						}
						v = v[xl:]
					case sn == 2 && st == protowire.VarintType:
						x, xl := protowire.ConsumeVarint(v)
						if xl < 0 {
							return 0, errors.New("remote_write: bad timestamp")
						}
						t = int64(x)
						v = v[xl:]
					default:
						return 0, errors.New("remote_write: unknown Sample field")
					}
				}
				stamps = append(stamps, t)
				n++
			}
		}
		batch = append(batch, seriesTS{h.Sum64(), stamps})
	}
	r.mu.Lock()
	for _, s := range batch {
		last, seen := r.lastTS[s.hash]
		for _, t := range s.ts {
			switch {
			case seen && t == last:
				r.dups++
			case seen && t < last:
				r.outOfOrd++
			default:
				last, seen = t, true
			}
		}
		r.lastTS[s.hash] = last
	}
	r.mu.Unlock()
	return n, nil
}
