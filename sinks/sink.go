// Package sinks owns the Sink contract and the delivery machinery shared by
// every destination: batching, the bounded per-sink queue, retry through
// go-retryablehttp with backoff and Retry-After, and the classification of
// failures into retryable and permanent. Each destination lives in its own
// subpackage (sinks/hec, sinks/datadog, sinks/remotewrite, sinks/stdout) and
// imports scrape for the model, never forwarder.
package sinks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// Request is one encoded wire request, ready to send as-is. It is encoded
// once and retried byte-for-byte; queues (memory and disk) hold Requests.
type Request struct {
	Body []byte
	// Samples is how many scraped samples this request carries; used for
	// sent/dropped accounting.
	Samples int
	// Shard routes the request to one sender when a sink sends in parallel;
	// requests of one shard are sent in order. Sinks that need per-series
	// order (remote-write) derive it from the series hash.
	Shard uint32
}

// Encoded is the result of encoding a batch of samples.
type Encoded struct {
	Requests []Request
	// Dropped counts samples the destination cannot represent (NaN/Inf for
	// HEC and Datadog); they are counted as dropped{reason="unrepresentable"}.
	Dropped int
	// NameCollisions counts samples dropped because the destination's
	// name rules mapped two distinct series onto one (dropped{reason="name_collision"}).
	NameCollisions int
	// TagCollisions counts samples dropped because the destination's tag
	// normalization made two distinct series of one request identical
	// (dropped{reason="tag_collision"}).
	TagCollisions int
}

// Sink is one destination. Encode is called from one goroutine at a time;
// Send may be called concurrently for requests of different shards.
type Sink interface {
	// Encode turns samples into requests. It never splits a histogram or
	// summary group (see scrape.GroupEnd) across requests and keeps every
	// request within the destination's documented limits. Encode must not
	// retain the samples slice after it returns: the Runner reuses it.
	Encode(samples []scrape.Sample) (Encoded, error)
	// Send delivers one request, retrying through the shared retrying HTTP
	// client until it succeeds, fails permanently, or ctx ends. A nil error
	// means delivered. A *PermanentError means the destination rejected it
	// for good (drop and count). Any other error means it was not delivered
	// and may be tried again later (the request stays queued).
	Send(ctx context.Context, req Request) error
	// Close releases resources (idle connections, pollers).
	Close() error
}

// Laner is implemented by sinks that choose how many senders (queue lanes)
// they need for a configured concurrency: Datadog spreads series over
// exactly that many lanes; HEC with indexer acknowledgement runs one lane
// per outstanding request. Lanes must give the same answer for the same
// input; it may remember the value (the sink's Encode then uses it).
type Laner interface {
	Lanes(concurrency int) int
}

// Lanes is the number of senders a Runner runs for s with the configured
// concurrency (0 or less means the default): the sink's own answer if it
// is a Laner, else concurrency. A Queue built for that Runner must have
// this many lanes.
func Lanes(s Sink, concurrency int) int {
	if concurrency <= 0 {
		concurrency = DefaultRunnerConfig().Concurrency
	}
	if l, ok := s.(Laner); ok {
		return max(l.Lanes(concurrency), 1)
	}
	return concurrency
}

// ExemplarSender is implemented by sinks that can send exemplars
// (scrape.Sample.Exemplar). A source keeps the exemplars it scrapes only
// while some sink it feeds answers true; every other sink ignores them.
type ExemplarSender interface {
	SendsExemplars() bool
}

// Starter is implemented by sinks that run background work (a health probe,
// an acknowledgement poller). Start must not block; the work stops when ctx ends.
type Starter interface {
	Start(ctx context.Context)
}

// PermanentError marks a failure that retrying cannot fix: the destination
// rejected the data (HTTP 400-class). The request is dropped and counted.
//
// A sink that splits a request may return several of them joined
// (errors.Join): then each one's Samples says how many samples it covers,
// and the request's other samples count as delivered.
type PermanentError struct {
	Status int    // HTTP status, 0 if not an HTTP answer
	Reason string // the receiver's own explanation, safe to log
	// Samples is how many of the request's samples were rejected; 0 means
	// all of them.
	Samples int
	// DropReason is the reason label they are counted under
	// (promfwd_sink_dropped_samples_total); "" means DropRejected.
	DropReason string
	Err        error
}

func (e *PermanentError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("permanent failure (status %d): %s: %v", e.Status, e.Reason, e.Err)
	}
	return fmt.Sprintf("permanent failure (status %d): %s", e.Status, e.Reason)
}

func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err (or anything it wraps) is a *PermanentError.
// An errors.Join of permanent errors and nils is permanent; one that also
// holds a retryable error is not (see Permanents).
func IsPermanent(err error) bool {
	pes, ok := Permanents(err)
	return ok && len(pes) > 0
}

// Permanents returns the *PermanentErrors in err, walking errors.Join
// trees; ok is false when err also holds a failure that is not permanent.
func Permanents(err error) (out []*PermanentError, ok bool) {
	if err == nil {
		return nil, true
	}
	if j, isJoin := err.(interface{ Unwrap() []error }); isJoin {
		return permanentsOf(j.Unwrap())
	}
	var pe *PermanentError
	if errors.As(err, &pe) {
		return []*PermanentError{pe}, true
	}
	return nil, false
}

func permanentsOf(errs []error) ([]*PermanentError, bool) {
	var out []*PermanentError
	for _, e := range errs {
		pes, ok := Permanents(e)
		if !ok {
			return nil, false
		}
		out = append(out, pes...)
	}
	return out, true
}

// ThrottledError carries a server-requested delay (Retry-After,
// X-RateLimit-Reset). The retry layer waits max(backoff, Delay).
type ThrottledError struct {
	Delay time.Duration
	Err   error
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("throttled for %s: %v", e.Delay, e.Err)
}

func (e *ThrottledError) Unwrap() error { return e.Err }

// ErrUnauthorized is wrapped by Send errors when the destination refuses the
// credentials (401/403). The sink is marked unhealthy and the data stays queued.
var ErrUnauthorized = errors.New("destination refused the credentials")
