package forwarder

import (
	"context"
	"errors"
	"hash/fnv"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/forwarder/state"
	"github.com/promfwd/promfwd/scrape"
)

// source is one configured scrape target with the state its job keeps
// between runs. The scheduler never overlaps runs of one source, so the
// fields below mu are touched by one goroutine at a time; mu only guards
// the routing, which a reload may swap.
type source struct {
	name   string
	cfg    config.SourceConfig
	target *scrape.Target
	pipe   *pipe         // pipeline.go: relabeling, limits, per-target series
	every  time.Duration // the interval, after relabel_configs' __scrape_interval__
	stale  *state.Staleness
	log    *zap.Logger
	// handoff, when set by a reload that replaced a source of the same name,
	// yields that source's staleness state once its last run is over
	// (reload_source.go). Only the job (or its goodbye) calls it.
	handoff func() *state.Staleness

	mu    sync.Mutex
	sinks []*sinkState

	freshUntil time.Time       // Cache-Control max-age of the last answer
	staleCache atomic.Bool     // set by reload: ignore freshUntil once (maxage.go)
	last       []scrape.Sample // last scraped samples (for max-age reuse)
	// lastRw: last went through the target's rewriter (the source's
	// metric_relabel_configs), with these counts; a reuse repeats them.
	lastRw     scrape.RewriteStats
	lastRwDone bool
	failing    bool
	lastErrLog time.Time
	stat       sourceStat // status_feed.go: the last run and the labels, for the status pages
}

// adoptStale takes over the staleness state of the source this one
// replaced, if any. Call it under the sourceJob's run lock.
func (s *source) adoptStale() {
	if s.handoff != nil {
		s.stale = s.handoff()
		s.handoff = nil
	}
}

func (s *source) routes() []*sinkState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sinks
}

func (s *source) setRoutes(r []*sinkState) {
	s.mu.Lock()
	s.sinks = r
	s.mu.Unlock()
	s.target.SetExemplars(wantsExemplars(r)) // exemplars.go
}

// startOffset spreads sources over time so they don't all fire together; it
// is derived from the source name, so it is stable across restarts. It is
// kept within a minute: a 60-minute Docker Scout interval should not mean
// waiting up to an hour for the first scrape.
func startOffset(name string, interval time.Duration) time.Duration {
	window := min(interval, time.Minute)
	if window <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(window))
}

// Scrape error reasons, the values of promfwd_source_scrape_errors_total's
// reason label. They are stable: alerts match on them.
const (
	reasonTimeout  = "timeout"        // scrape timeout (connect, headers or body)
	reasonConnect  = "connect"        // dial failed: refused, unreachable, no such host or socket
	reasonAuth     = "auth"           // 401 or 403: the target refused our credentials
	reasonStatus   = "http_status"    // any other non-2xx answer
	reasonBodySize = "body_too_large" // body over body_size_limit
	reasonLimit    = "limit"          // sample_limit, label_limit or a label length limit exceeded
	reasonParse    = "parse"          // malformed exposition
	reasonType     = "content_type"   // not an exposition: a Content-Type such as text/html and a body to match
	reasonFetch    = "fetch"          // any other transport failure
)

// errorReason classifies a scrape error for the errors metric.
func errorReason(err error) string {
	var pe *scrape.ParseError
	var cte *scrape.ContentTypeError
	var le *scrape.LimitError
	var se *scrape.StatusError
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return reasonTimeout
	case errors.Is(err, scrape.ErrBodyTooLarge):
		return reasonBodySize
	case errors.As(err, &le):
		return reasonLimit
	case errors.As(err, &cte):
		return reasonType
	case errors.As(err, &pe):
		return reasonParse
	case errors.Is(err, scrape.ErrCredentialsRefused):
		return reasonAuth
	case errors.As(err, &se):
		return reasonStatus
	case errors.As(err, &oe) && oe.Op == "dial":
		return reasonConnect
	default:
		return reasonFetch
	}
}

// restamp copies samples, giving those without an exposition timestamp the
// time nowMs.
func restamp(in []scrape.Sample, nowMs int64) []scrape.Sample {
	out := make([]scrape.Sample, len(in))
	copy(out, in)
	for i := range out {
		if !out[i].ExplicitTS {
			out[i].TimestampMs = nowMs
		}
	}
	return out
}
