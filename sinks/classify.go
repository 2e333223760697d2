package sinks

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"
)

// Action is what delivery does with one answer of the destination. Every
// HTTP sink has one Table mapping statuses to Actions; the retrying client
// (NewHTTPClient) and the sink's own reading of the final answer both use
// it, so the two can never disagree about what is retried.
type Action int

const (
	// Deliver: the destination took the request (2xx).
	Deliver Action = iota
	// Retry: a transient failure (network error, most 5xx, 429): the same
	// bytes are sent again after a backoff, until delivered or stopped.
	Retry
	// Hold: the destination refused the credentials (401/403). The request
	// is retried, so a rotated token or key ends the streak without loss,
	// but for at most ClientOptions.MaxHold from its first refusal; then it
	// is dropped and counted as rejected.
	Hold
	// Split: the request is too large (413); the sink splits it and sends
	// the halves, one sample at the bottom is dropped and counted.
	Split
	// Reject: a permanent failure; the request is dropped and counted.
	Reject
)

func (a Action) String() string {
	switch a {
	case Deliver:
		return "deliver"
	case Retry:
		return "retry"
	case Hold:
		return "hold"
	case Split:
		return "split"
	case Reject:
		return "reject"
	}
	return "unknown"
}

// StatusNetworkError is the status a Table is asked about for an attempt
// that got no HTTP answer (connection refused, reset, timeout).
const StatusNetworkError = 0

// Table classifies one answer: status is the HTTP status, or
// StatusNetworkError when there was none.
type Table func(status int) Action

// Defaults of the bounds documented in the README's retry table.
const (
	// DefaultMaxHold bounds how long one request is held while the
	// destination refuses the credentials (HEC, Datadog: max_auth_hold).
	DefaultMaxHold = 10 * time.Minute
	// DefaultMaxRetryAfter caps a server's Retry-After (max_retry_after).
	DefaultMaxRetryAfter = 5 * time.Minute
)

// attemptState is one Send's view of its attempts, carried in the request's
// context (see TrackStatus).
type attemptState struct {
	last      atomic.Int32 // status of the latest answer
	holdSince atomic.Int64 // UnixNano of the first Hold answer, 0 if none
	held      atomic.Bool  // the Hold bound ended the retries
}

// statusKey carries the *attemptState of TrackStatus in a request's context.
type statusKey struct{}

// TrackStatus returns a context under which a client built by NewHTTPClient
// records the status of every answer, and a function reporting the latest
// one (0 before any). When ctx ends while the client waits to retry, Send can
// still tell a 401/403 streak (sinks.ErrUnauthorized) from an outage.
func TrackStatus(ctx context.Context) (context.Context, func() int) {
	st := new(attemptState)
	return context.WithValue(ctx, statusKey{}, st), func() int { return int(st.last.Load()) }
}

// HoldExpired reports whether the client stopped retrying the request of ctx
// (a context from TrackStatus) because the destination kept refusing the
// credentials for longer than MaxHold.
func HoldExpired(ctx context.Context) bool {
	st, ok := ctx.Value(statusKey{}).(*attemptState)
	return ok && st.held.Load()
}

// hold records a Hold answer at now and reports whether the request may
// still be retried (it has been held less than maxHold).
func (st *attemptState) hold(now time.Time, maxHold time.Duration) bool {
	st.holdSince.CompareAndSwap(0, now.UnixNano())
	if now.Sub(time.Unix(0, st.holdSince.Load())) < maxHold {
		return true
	}
	st.held.Store(true)
	return false
}

// tableCheck turns a Table into the client's retry decision: Retry and Hold
// (within maxHold) retry, everything else is final. A Hold needs a context
// from TrackStatus to measure its bound; without one it is final at once.
func tableCheck(table Table, maxHold time.Duration, now func() time.Time) func(context.Context, *http.Response, error) (bool, error) {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		status := StatusNetworkError
		if err == nil && resp != nil {
			status = resp.StatusCode
		}
		switch table(status) {
		case Retry:
			return true, nil
		case Hold:
			st, ok := ctx.Value(statusKey{}).(*attemptState)
			return ok && st.hold(now(), maxHold), nil
		}
		return false, nil
	}
}

// HTTPTable is the classification of HEC and Datadog, and the base of the
// others: network errors, 408, 429 and 5xx but 501 are retried; 401/403
// held; 413 split; 501 and every other status outside 2xx rejected.
func HTTPTable(status int) Action {
	switch {
	case status == StatusNetworkError:
		return Retry
	case status >= 200 && status < 300:
		return Deliver
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return Hold
	case status == http.StatusRequestEntityTooLarge:
		return Split
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return Retry
	case status == http.StatusNotImplemented:
		return Reject // the endpoint does not exist here; retrying cannot help
	case status >= 500:
		return Retry
	}
	return Reject
}
