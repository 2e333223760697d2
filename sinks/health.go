package sinks

import (
	"net/http"
	"sync"
	"time"
)

// Health tracks whether a sink's destination accepts our credentials and
// answers. 401/403 (or Fail, for a credential file that cannot be read)
// make it unhealthy until the next 2xx; readiness reports it.
type Health struct {
	mu          sync.Mutex
	healthy     bool
	reason      string
	lastSuccess time.Time
	now         func() time.Time
	attempts    attemptLog // health_detail.go
}

// NewHealth starts healthy. now may be nil (time.Now).
func NewHealth(now func() time.Time) *Health {
	if now == nil {
		now = time.Now
	}
	return &Health{healthy: true, now: now}
}

// Observe records one attempt's outcome.
func (h *Health) Observe(resp *http.Response, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts.observe(h.now(), resp, err)
	switch {
	case err != nil:
		// Network errors do not flip health: the queue absorbs outages;
		// readiness is about configuration (credentials), not weather.
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		h.healthy = false
		h.reason = http.StatusText(resp.StatusCode)
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		h.healthy = true
		h.reason = ""
		h.lastSuccess = h.now()
	}
}

// Status returns health, the reason when unhealthy, and the last 2xx time.
func (h *Health) Status() (healthy bool, reason string, lastSuccess time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.healthy, h.reason, h.lastSuccess
}

// Fail marks the sink unhealthy for a reason of its own (a credential file
// it cannot read) until the destination next answers 2xx.
func (h *Health) Fail(reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.healthy = false
	h.reason = reason
}
