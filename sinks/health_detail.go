package sinks

import (
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// attemptLog remembers the latest HTTP attempts of a sink for the status
// pages: what failed, since when, and the last Retry-After the destination
// asked for. Error texts are redacted (RedactURLError) when recorded.
type attemptLog struct {
	lastAt       time.Time
	lastStatus   int
	lastErr      string
	failures     int
	failingSince time.Time
	retryAfter   time.Duration
	backoff      time.Duration // the client's wait before its next attempt; 0 after a success
}

// Attempts is a snapshot of a sink's recent HTTP attempts.
type Attempts struct {
	LastAttempt         time.Time
	LastStatus          int    // 0 for a transport error
	LastError           string // redacted; "" after a success
	ConsecutiveFailures int
	FailingSince        time.Time     // first failure after the last success
	LastRetryAfter      time.Duration // the last Retry-After (or X-RateLimit-Reset) asked for
	Backoff             time.Duration // the HTTP client's wait before its next attempt; 0 once one succeeded
}

func (a *attemptLog) observe(now time.Time, resp *http.Response, err error) {
	a.lastAt = now
	switch {
	case err != nil:
		a.lastStatus, a.lastErr = 0, RedactURLError(err).Error()
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		a.lastStatus, a.lastErr, a.failures, a.failingSince, a.backoff = resp.StatusCode, "", 0, time.Time{}, 0
		return
	default:
		a.lastStatus, a.lastErr = resp.StatusCode, http.StatusText(resp.StatusCode)
		if d := ServerDelay(resp, now); d > 0 {
			a.retryAfter = d
		}
	}
	if a.failures == 0 {
		a.failingSince = now
	}
	a.failures++
}

// Attempts returns the latest attempts' snapshot.
func (h *Health) Attempts() Attempts {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.attempts
	return Attempts{
		LastAttempt: a.lastAt, LastStatus: a.lastStatus, LastError: a.lastErr,
		ConsecutiveFailures: a.failures, FailingSince: a.failingSince, LastRetryAfter: a.retryAfter, Backoff: a.backoff,
	}
}

// trackBackoff wraps the HTTP client's backoff so the status pages can
// show the wait in force. A nil Health returns b unchanged.
func (h *Health) trackBackoff(b retryablehttp.Backoff) retryablehttp.Backoff {
	if h == nil {
		return b
	}
	return func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
		d := b(lo, hi, attempt, resp)
		h.mu.Lock()
		h.attempts.backoff = d
		h.mu.Unlock()
		return d
	}
}
