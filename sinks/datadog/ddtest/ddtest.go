// Package ddtest owns a strict stand-in for Datadog's metrics intake
// (POST /api/v2/series) on 127.0.0.1, for tests: it checks the API key,
// Content-Encoding, the JSON schema and metric name charset, the point
// timestamp window and the size limits, records every accepted series, and
// can be told to fail (429 with headers, 5xx, 400) for N requests or for a
// period of its clock.
package ddtest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Intake limits, as documented by Datadog.
const (
	MaxCompressedBytes   = 512_000
	MaxDecompressedBytes = 5_242_880
	MaxPoints            = 10_000
)

// SeriesPath is the only path the receiver serves.
const SeriesPath = "/api/v2/series"

// Options configures a Server. Zero limits mean the intake's own.
type Options struct {
	APIKey string           // required DD-API-KEY value (see SetAPIKey)
	Now    func() time.Time // the receiver's clock; nil means time.Now

	MaxCompressedBytes   int
	MaxDecompressedBytes int
	MaxPoints            int

	// AllowReservedTags lists the reserved tag keys (ReservedTagKeys) a
	// series may carry because the sender sets them on purpose; any other
	// reserved key is rejected.
	AllowReservedTags []string
}

// Fault makes the receiver answer Status (with Header and Body) instead of
// processing: for the next Count requests when Count > 0, otherwise while
// the receiver's clock is before Until.
type Fault struct {
	Status int
	Header http.Header
	Body   string
	Count  int
	Until  time.Time
}

// Request describes one request the receiver answered.
type Request struct {
	Status            int
	Encoding          string // Content-Encoding ("" for identity)
	CompressedBytes   int    // body as received
	DecompressedBytes int    // JSON bytes (0 when not decoded)
	Series            int
	Points            int
	Error             string // the reason given with a 4xx answer
}

// Server is the strict receiver. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	srv  *httptest.Server

	mu       sync.Mutex
	apiKey   string
	faults   []Fault
	series   []Series
	requests []Request
}

// NewServer starts a receiver on 127.0.0.1.
func NewServer(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxCompressedBytes <= 0 {
		opts.MaxCompressedBytes = MaxCompressedBytes
	}
	if opts.MaxDecompressedBytes <= 0 {
		opts.MaxDecompressedBytes = MaxDecompressedBytes
	}
	if opts.MaxPoints <= 0 {
		opts.MaxPoints = MaxPoints
	}
	s := &Server{opts: opts, apiKey: opts.APIKey}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL (without SeriesPath), for the sink's `url` key.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// SetAPIKey changes the accepted API key (a key rotation).
func (s *Server) SetAPIKey(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKey = k
}

func (s *Server) key() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apiKey
}

// Fail queues a fault; faults apply in the order given.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// Series returns a copy of every series accepted so far, in arrival order.
func (s *Server) Series() []Series {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Series(nil), s.series...)
}

// Requests returns a copy of every request answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Reset forgets recorded series, requests and pending faults.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.series, s.requests, s.faults = nil, nil, nil
}

// takeFault returns the fault that applies to this request, if any.
func (s *Server) takeFault(now time.Time) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.faults) > 0 {
		f := &s.faults[0]
		switch {
		case f.Count > 0:
			f.Count--
			out := *f
			if f.Count == 0 {
				s.faults = s.faults[1:]
			}
			return out, true
		case now.Before(f.Until):
			return *f, true
		default:
			s.faults = s.faults[1:]
		}
	}
	return Fault{}, false
}

func (s *Server) record(r Request, series []Series) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
	s.series = append(s.series, series...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := Request{Encoding: r.Header.Get("Content-Encoding")}
	status, series, err := s.handle(r, &rec)
	rec.Status = status
	if err != nil {
		rec.Error = err.Error()
	}
	s.record(rec, series)
	var fe *faultError
	if errors.As(err, &fe) {
		for k, vs := range fe.f.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, fe.f.Body)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	errs := []string{}
	if err != nil {
		errs = append(errs, err.Error())
	}
	_ = json.NewEncoder(w).Encode(map[string][]string{"errors": errs})
}

// faultError is the answer of an injected fault.
type faultError struct{ f Fault }

func (e *faultError) Error() string { return fmt.Sprintf("injected fault: status %d", e.f.Status) }

const tooLarge = "payload too large"

// handle processes one request and returns the status to answer; the
// series are returned only when accepted.
func (s *Server) handle(r *http.Request, rec *Request) (int, []Series, error) {
	if r.URL.Path != SeriesPath {
		return http.StatusNotFound, nil, fmt.Errorf("no route for %s", r.URL.Path)
	}
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, nil, fmt.Errorf("method %s not allowed", r.Method)
	}
	now := s.opts.Now()
	if f, ok := s.takeFault(now); ok {
		return f.Status, nil, &faultError{f}
	}
	if k := r.Header.Get("DD-API-KEY"); k == "" || k != s.key() {
		return http.StatusForbidden, nil, errors.New("Forbidden")
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		return http.StatusUnsupportedMediaType, nil, fmt.Errorf("content type %q is not application/json", ct)
	}
	compressed, err := io.ReadAll(io.LimitReader(r.Body, int64(s.opts.MaxCompressedBytes)+1))
	if err != nil {
		return http.StatusBadRequest, nil, fmt.Errorf("read body: %w", err)
	}
	rec.CompressedBytes = len(compressed)
	if len(compressed) > s.opts.MaxCompressedBytes {
		return http.StatusRequestEntityTooLarge, nil, fmt.Errorf("%s: more than %d bytes compressed", tooLarge, s.opts.MaxCompressedBytes)
	}
	var body io.Reader = bytes.NewReader(compressed)
	switch rec.Encoding {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return http.StatusBadRequest, nil, fmt.Errorf("gzip: %w", err)
		}
		body = zr
	case "deflate":
		zr, err := zlib.NewReader(body) // Datadog's deflate is zlib-wrapped
		if err != nil {
			return http.StatusBadRequest, nil, fmt.Errorf("deflate (zlib): %w", err)
		}
		body = zr
	default:
		return http.StatusUnsupportedMediaType, nil, fmt.Errorf("content encoding %q not supported", rec.Encoding)
	}
	raw, err := io.ReadAll(io.LimitReader(body, int64(s.opts.MaxDecompressedBytes)+1))
	if err != nil {
		return http.StatusBadRequest, nil, fmt.Errorf("%s: %w", rec.Encoding, err)
	}
	rec.DecompressedBytes = len(raw)
	if len(raw) > s.opts.MaxDecompressedBytes {
		return http.StatusRequestEntityTooLarge, nil, fmt.Errorf("%s: more than %d bytes decompressed", tooLarge, s.opts.MaxDecompressedBytes)
	}
	p, err := decodePayload(raw)
	if err != nil {
		return http.StatusBadRequest, nil, err
	}
	rec.Series = len(p.Series)
	for _, sr := range p.Series {
		rec.Points += len(sr.Points)
	}
	if rec.Points > s.opts.MaxPoints {
		return http.StatusRequestEntityTooLarge, nil, fmt.Errorf("%s: %d points, at most %d", tooLarge, rec.Points, s.opts.MaxPoints)
	}
	if err := validate(p, now, s.opts.AllowReservedTags); err != nil {
		return http.StatusBadRequest, nil, err
	}
	return http.StatusAccepted, p.Series, nil
}
