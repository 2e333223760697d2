package hectest

import (
	"net/http"
	"time"
)

// Fault is an answer the Server gives instead of processing a request.
type Fault struct {
	Status int    // HTTP status
	Code   int    // HEC code; omitted from the answer when negative
	Text   string // HEC text
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// InvalidEventNumber, when non-negative, is sent as
	// "invalid-event-number".
	InvalidEventNumber int
}

// Busy is 503 code 9 (Server is busy).
func Busy() Fault {
	return Fault{Status: http.StatusServiceUnavailable, Code: CodeServerBusy, Text: "Server is busy", InvalidEventNumber: -1}
}

// InternalError is 500 code 8.
func InternalError() Fault {
	return Fault{Status: http.StatusInternalServerError, Code: CodeInternalError, Text: "Internal server error", InvalidEventNumber: -1}
}

// Throttled is 429 with the given Retry-After value (seconds or HTTP date).
func Throttled(retryAfter string) Fault {
	return Fault{Status: http.StatusTooManyRequests, Code: -1, Text: "Too Many Requests", RetryAfter: retryAfter, InvalidEventNumber: -1}
}

// InvalidData is 400 code 6 naming the offending event.
func InvalidData(eventNumber int) Fault {
	return Fault{Status: http.StatusBadRequest, Code: CodeInvalidDataFormat, Text: "Invalid data format", InvalidEventNumber: eventNumber}
}

func (f Fault) write(w http.ResponseWriter) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	a := answer{Text: f.Text}
	if f.Code >= 0 {
		a.Code = intp(f.Code)
	}
	if f.InvalidEventNumber >= 0 {
		a.InvalidEventNumber = intp(f.InvalidEventNumber)
	}
	reply(w, f.Status, a)
}

// rule applies a fault to the next n requests (n > 0) or until a time.
type rule struct {
	n     int
	until time.Time
	f     Fault
}

// FailNext answers the next n event requests (after the token and channel
// checks) with f.
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, rule{n: n, f: f})
	s.mu.Unlock()
}

// FailFor answers every event request with f for d (by Options.Now).
func (s *Server) FailFor(d time.Duration, f Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, rule{until: s.opts.Now().Add(d), f: f})
	s.mu.Unlock()
}

// takeFault returns the first active fault, consuming one use of a counted rule.
func (s *Server) takeFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	for len(s.faults) > 0 {
		r := &s.faults[0]
		switch {
		case r.n > 0:
			r.n--
			f := r.f
			if r.n == 0 {
				s.faults = s.faults[1:]
			}
			return f, true
		case !r.until.IsZero() && now.Before(r.until):
			return r.f, true
		}
		s.faults = s.faults[1:]
	}
	return Fault{}, false
}
