// Package hectest provides a strict Splunk HTTP Event Collector receiver on
// 127.0.0.1 for tests anywhere in the repository. It enforces the token
// check, HEC's answer-code table, gzip, concatenated JSON metric events,
// max_content_length, channels and indexer acknowledgement, serves the
// health endpoint, and can inject faults (busy, throttled, rejected) and
// withhold acks.
package hectest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// HEC answer codes (see SPECS.md).
const (
	CodeSuccess            = 0
	CodeTokenDisabled      = 1
	CodeTokenRequired      = 2
	CodeInvalidAuth        = 3
	CodeInvalidToken       = 4
	CodeNoData             = 5
	CodeInvalidDataFormat  = 6
	CodeIncorrectIndex     = 7
	CodeInternalError      = 8
	CodeServerBusy         = 9
	CodeChannelMissing     = 10
	CodeInvalidChannel     = 11
	CodeEventFieldRequired = 12
	CodeEventFieldBlank    = 13
	CodeAckDisabled        = 14
	CodeHealthy            = 17
	CodeUnhealthyQueues    = 18
)

// DefaultToken is the token a Server accepts when Options.Token is empty.
const DefaultToken = "hectest-0b9d2c5e-token"

// DefaultMaxContentLength mirrors Splunk's default max_content_length.
const DefaultMaxContentLength = 1 << 20

// maxDecompressed bounds a gzip body after decompression.
const maxDecompressed = 64 << 20

// Options configures a Server.
type Options struct {
	// Token is the accepted HEC token; DefaultToken when empty.
	Token string
	// TokenDisabled answers every authenticated request 403 code 1.
	TokenDisabled bool
	// UseACK turns on indexer acknowledgement: requests need a channel
	// (code 10/11), answers carry an ackId, /ack is served.
	UseACK bool
	// MaxContentLength bounds a request body as received (413 above it).
	// DefaultMaxContentLength when 0.
	MaxContentLength int64
	// Indexes, when set, is the list of indexes events may name (code 7).
	Indexes []string
	// Now is the clock for FailFor; time.Now when nil.
	Now func() time.Time
}

// Stats counts what the receiver saw.
type Stats struct {
	Requests int // POSTs to the event endpoint, whatever the outcome
	Accepted int // answered 200
	Rejected int // answered 4xx/5xx (faults included)
	TooLarge int // answered 413
	Events   int // events accepted
	Gzipped  int // accepted requests whose body was gzip-compressed
	AckPolls int // requests to the ack endpoint
	Acked    int // ackIds reported true
}

// Server is a strict HEC receiver. Its methods are safe for concurrent use.
type Server struct {
	srv  *httptest.Server
	opts Options

	mu        sync.Mutex
	token     string
	events    []Event
	bodies    [][]byte
	stats     Stats
	faults    []rule
	withhold  bool
	conns     int // open client connections
	unhealthy bool
	channels  map[string]*channel
	changed   chan struct{} // closed and replaced whenever Stats change
}

// channel is one ack channel's state.
type channel struct {
	next    int64
	pending map[int64]bool // issued, not yet reported true
}

// New starts a Server on 127.0.0.1; it is closed when the test ends.
func New(tb testing.TB, o Options) *Server {
	tb.Helper()
	if o.Token == "" {
		o.Token = DefaultToken
	}
	if o.MaxContentLength <= 0 {
		o.MaxContentLength = DefaultMaxContentLength
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{opts: o, token: o.Token, channels: map[string]*channel{}, changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/services/collector", s.handleEvents)
	mux.HandleFunc("/services/collector/event", s.handleEvents)
	mux.HandleFunc("/services/collector/event/1.0", s.handleEvents)
	mux.HandleFunc("/services/collector/ack", s.handleAck)
	mux.HandleFunc("/services/collector/health", s.handleHealth)
	mux.HandleFunc("/services/collector/health/1.0", s.handleHealth)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusNotFound, answer{Text: "The requested URL was not found on this server.", Code: intp(404)})
	})
	s.srv = httptest.NewUnstartedServer(mux)
	s.srv.Config.ConnState = s.connState
	s.srv.Start()
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.srv.URL }

// Token returns the currently accepted token.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// SetToken changes the accepted token (a rotation).
func (s *Server) SetToken(tok string) {
	s.mu.Lock()
	s.token = tok
	s.mu.Unlock()
}

// Events returns the accepted events in arrival order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Points returns the accepted measurements, one per metric of each event.
func (s *Server) Points() []Point { return Points(s.Events()) }

// Bodies returns the bodies of accepted requests, decompressed, in order.
func (s *Server) Bodies() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.bodies...)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// WithholdAcks makes the ack endpoint answer false for every ackId while on.
func (s *Server) WithholdAcks(on bool) {
	s.mu.Lock()
	s.withhold = on
	s.mu.Unlock()
}

// SetHealthy switches the health endpoint between 200 code 17 and 503 code 18.
func (s *Server) SetHealthy(ok bool) {
	s.mu.Lock()
	s.unhealthy = !ok
	s.mu.Unlock()
}

// answer is HEC's JSON reply.
type answer struct {
	Text               string `json:"text"`
	Code               *int   `json:"code,omitempty"`
	AckID              *int64 `json:"ackId,omitempty"`
	InvalidEventNumber *int   `json:"invalid-event-number,omitempty"`
}

func intp(v int) *int { return &v }

func reply(w http.ResponseWriter, status int, a answer) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(a)
}

// statusOf maps HEC codes to their HTTP status.
func statusOf(code int) int {
	switch code {
	case CodeSuccess, CodeHealthy:
		return http.StatusOK
	case CodeTokenRequired, CodeInvalidAuth:
		return http.StatusUnauthorized
	case CodeTokenDisabled, CodeInvalidToken:
		return http.StatusForbidden
	case CodeInternalError:
		return http.StatusInternalServerError
	case CodeServerBusy, CodeUnhealthyQueues, 19, 20:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

func reject(w http.ResponseWriter, code int, text string) {
	reply(w, statusOf(code), answer{Text: text, Code: intp(code)})
}

// authorize applies the token check; false means it answered.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if h == "" {
		reject(w, CodeTokenRequired, "Token is required")
		return false
	}
	tok, ok := strings.CutPrefix(h, "Splunk ")
	if !ok || tok == "" {
		reject(w, CodeInvalidAuth, "Invalid authorization")
		return false
	}
	if tok != s.Token() {
		reject(w, CodeInvalidToken, "Invalid token")
		return false
	}
	if s.opts.TokenDisabled {
		reject(w, CodeTokenDisabled, "Token disabled")
		return false
	}
	return true
}

// channelOf returns the request's channel and whether it is acceptable in
// ack mode; false means it answered.
func (s *Server) channelOf(w http.ResponseWriter, r *http.Request) (string, bool) {
	ch := r.Header.Get("X-Splunk-Request-Channel")
	if ch == "" {
		ch = r.URL.Query().Get("channel")
	}
	if !s.opts.UseACK {
		return ch, true
	}
	if ch == "" {
		reject(w, CodeChannelMissing, "Data channel is missing")
		return "", false
	}
	if _, err := uuid.Parse(ch); err != nil {
		reject(w, CodeInvalidChannel, "Invalid data channel")
		return "", false
	}
	return ch, true
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.notifyLocked()
	s.mu.Unlock()
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitFor blocks until cond holds for the counters or ctx ends; use it
// instead of sleeping when a test must wait for the sink to act.
func (s *Server) WaitFor(ctx context.Context, cond func(Stats) bool) error {
	for {
		s.mu.Lock()
		ok, ch := cond(s.stats), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("hectest: wait: %w", ctx.Err())
		}
	}
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.Requests++ })
	rw := &recorder{ResponseWriter: w}
	defer func() {
		s.count(func(st *Stats) {
			switch {
			case rw.status == http.StatusRequestEntityTooLarge:
				st.TooLarge++
				st.Rejected++
			case rw.status >= 400:
				st.Rejected++
			}
		})
	}()
	w = rw
	if r.Method != http.MethodPost {
		reply(w, http.StatusMethodNotAllowed, answer{Text: "Method not allowed"})
		return
	}
	if !s.authorize(w, r) {
		return
	}
	ch, ok := s.channelOf(w, r)
	if !ok {
		return
	}
	if f, ok := s.takeFault(); ok {
		f.write(w)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxContentLength+1))
	if err != nil {
		reject(w, CodeInvalidDataFormat, "Invalid data format: "+err.Error())
		return
	}
	if int64(len(raw)) > s.opts.MaxContentLength {
		reply(w, http.StatusRequestEntityTooLarge, answer{
			Text: fmt.Sprintf("Content-Length of %d too large (maximum is %d)", r.ContentLength, s.opts.MaxContentLength),
		})
		return
	}
	body, rej := decodeBody(r.Header.Get("Content-Encoding"), raw)
	if rej == nil {
		var events []Event
		events, rej = decodeEvents(body, s.opts.Indexes, ch)
		if rej == nil {
			s.accept(w, ch, body, events, strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip"))
			return
		}
	}
	a := answer{Text: rej.text, Code: intp(rej.code)}
	if rej.event >= 0 && rej.code == CodeInvalidDataFormat {
		a.InvalidEventNumber = intp(rej.event)
	}
	reply(w, statusOf(rej.code), a)
}

// accept records a valid request and answers success (with an ackId in ack mode).
func (s *Server) accept(w http.ResponseWriter, ch string, body []byte, events []Event, gzipped bool) {
	s.mu.Lock()
	s.events = append(s.events, events...)
	s.bodies = append(s.bodies, body)
	s.stats.Accepted++
	if gzipped {
		s.stats.Gzipped++
	}
	s.stats.Events += len(events)
	s.notifyLocked()
	a := answer{Text: "Success", Code: intp(CodeSuccess)}
	if s.opts.UseACK {
		c := s.channels[ch]
		if c == nil {
			c = &channel{pending: map[int64]bool{}}
			s.channels[ch] = c
		}
		id := c.next
		c.next++
		c.pending[id] = true
		a.AckID = &id
	}
	s.mu.Unlock()
	reply(w, http.StatusOK, a)
}

// recorder remembers the status written.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
