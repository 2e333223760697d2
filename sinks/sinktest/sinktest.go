// Package sinktest is the conformance kit every HTTP sink runs from its own
// tests: it drives the sink against a scripted destination on 127.0.0.1 and
// checks the shared contract (which answers are retried, which are
// permanent, Retry-After, health on 401/403, cancellation) and that the
// secret never shows in an error or a log line.
package sinktest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// Harness adapts one sink to the kit.
type Harness struct {
	// New builds the sink under test pointed at url, with secret as its
	// token or API key, and set as its Settings. It must call tune on the
	// sinks.ClientOptions it passes to sinks.NewHTTPClient (typically
	// through an unexported constructor): tune shortens the waits and
	// observes the backoff. It must not start background probes.
	New func(t *testing.T, url, secret string, set sinks.Settings, tune func(*sinks.ClientOptions)) sinks.Sink
	// Answer writes the destination's own body for a status (e.g. HEC
	// {"text":..,"code":..}). Headers already set on w (Retry-After) must be kept.
	Answer func(w http.ResponseWriter, status int)
	// Samples is a small batch to encode and send; it must yield at least
	// one request from a fresh sink (use gauges for delta-based sinks).
	Samples []scrape.Sample
	// SuccessStatus is the destination's success answer; 0 means 200.
	SuccessStatus int
	// Inspect, if set, sees every request the destination receives.
	Inspect func(t *testing.T, r *http.Request, body []byte)
	// Table is the sink's classification table, the one it passes as
	// ClientOptions.Classify and reads final answers with.
	Table sinks.Table
	// Expect pins the Action of every status of StatusClasses (200 stands
	// for SuccessStatus, sinks.StatusNetworkError for no answer): the
	// README's retry table. The kit checks Table against it, then the
	// sink's behaviour for each status. A Split status needs Samples that
	// encode into at least two events or series.
	Expect map[int]sinks.Action
}

// StatusClasses are the answers the kit checks, one subtest each.
var StatusClasses = []int{200, 400, 401, 403, 404, 408, 413, 429, 500, 501, 502, 503, 504, sinks.StatusNetworkError}

// The longest a Send may take in the kit: a guard against hangs, not a
// speed assertion (the kit's own backoffs are a millisecond).
const hangGuard = 30 * time.Second

// Run checks the sink against the contract; each check is a subtest.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || h.Answer == nil || len(h.Samples) == 0 || h.Table == nil {
		t.Fatal("sinktest: Harness needs New, Answer, Samples and Table")
	}
	if h.SuccessStatus == 0 {
		h.SuccessStatus = http.StatusOK
	}
	ok := h.SuccessStatus
	for _, status := range StatusClasses {
		want, pinned := h.Expect[status]
		if !pinned {
			t.Fatalf("sinktest: Harness.Expect has no entry for status %d", status)
		}
		name := fmt.Sprintf("status_%d_%s", status, want)
		if status == sinks.StatusNetworkError {
			name = "network_error_" + want.String()
		}
		t.Run(name, func(t *testing.T) {
			if got := h.Table(status); got != want {
				t.Fatalf("Table(%d) = %s, want %s (the README's retry table)", status, got, want)
			}
			if status == 200 {
				status = ok
			}
			checkAction(t, h, status, want)
		})
	}
	for _, status := range []int{429, 503} {
		t.Run(fmt.Sprintf("retry_after_%d", status), func(t *testing.T) {
			c := start(t, h, step{status: status, header: http.Header{"Retry-After": {"7"}}}, step{status: ok})
			if err := c.send(context.Background()); err != nil {
				t.Fatalf("Send = %v, want nil", err)
			}
			c.wantRequests(2)
			waits := c.waits()
			if len(waits) == 0 {
				t.Fatal("the backoff hook was never called: New must apply tune to its ClientOptions")
			}
			if waits[0] < 7*time.Second {
				t.Fatalf("backoff after Retry-After: 7 was %v, want at least 7s", waits[0])
			}
		})
	}
	t.Run("cancel_in_flight", func(t *testing.T) {
		c := start(t, h, step{hang: true})
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-c.srv.seen
			cancel()
		}()
		c.wantCancelled(c.send(ctx))
	})
	t.Run("cancel_during_backoff", func(t *testing.T) {
		c := start(t, h, step{status: http.StatusServiceUnavailable})
		ctx, cancel := context.WithCancel(context.Background())
		c.cancelAtBackoff(3, cancel)
		c.wantCancelled(c.send(ctx))
	})
}

// check is one subtest's sink, settings and observations.
type check struct {
	t         *testing.T
	h         Harness
	srv       *server
	sink      sinks.Sink
	set       sinks.Settings
	secret    string
	logs      *observer.ObservedLogs
	retries   atomic.Int32
	mu        sync.Mutex
	backoffs  []time.Duration
	onBackoff func(n int)   // called with the count of backoffs so far
	maxHold   time.Duration // if set, ClientOptions.MaxHold
}

var secretSeq atomic.Int64

func start(t *testing.T, h Harness, script ...step) *check {
	t.Helper()
	return startHold(t, h, 0, script...)
}

// startHold is start with ClientOptions.MaxHold set to maxHold (0: the
// sink's own).
func startHold(t *testing.T, h Harness, maxHold time.Duration, script ...step) *check {
	t.Helper()
	c := &check{t: t, h: h, srv: newServer(t, h, script...), maxHold: maxHold}
	c.secret = fmt.Sprintf("sinktest-s3cr3t-%d-%d", time.Now().UnixNano(), secretSeq.Add(1))
	core, logs := observer.New(zapcore.DebugLevel)
	c.logs = logs
	c.set = sinks.Settings{
		Name:      "sinktest",
		Logger:    zap.New(core).With(zap.String("sink", "sinktest")),
		UserAgent: "promfwd/sinktest",
		Health:    sinks.NewHealth(nil),
		OnRetry:   func() { c.retries.Add(1) },
	}
	c.sink = h.New(t, c.srv.srv.URL, c.secret, c.set, c.tune)
	if c.sink == nil {
		t.Fatal("sinktest: New returned nil")
	}
	t.Cleanup(func() {
		if err := c.sink.Close(); err != nil {
			c.noSecret("Close error", err.Error())
		}
		c.checkLogs()
	})
	return c
}

// tune shortens every wait to a millisecond and records what the sink's
// backoff would have waited.
func (c *check) tune(o *sinks.ClientOptions) {
	o.RetryWaitMin, o.RetryWaitMax = time.Millisecond, 2*time.Millisecond
	if c.maxHold > 0 {
		o.MaxHold = c.maxHold
	}
	inner := o.Backoff
	if inner == nil {
		inner = sinks.Backoff
	}
	o.Backoff = func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
		d := inner(lo, hi, attempt, resp)
		c.mu.Lock()
		c.backoffs = append(c.backoffs, d)
		n, hook := len(c.backoffs), c.onBackoff
		c.mu.Unlock()
		if hook != nil {
			hook(n)
		}
		return time.Millisecond
	}
}

// cancelAtBackoff calls cancel when the sink is about to wait for the n-th time.
func (c *check) cancelAtBackoff(n int, cancel context.CancelFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onBackoff = func(seen int) {
		if seen == n {
			cancel()
		}
	}
}

func (c *check) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.backoffs...)
}

// send encodes h.Samples and sends the first request under a hang guard.
func (c *check) send(ctx context.Context) error {
	c.t.Helper()
	enc, err := c.sink.Encode(c.h.Samples)
	if err != nil {
		c.noSecret("Encode error", err.Error())
		c.t.Fatalf("Encode: %v", err)
	}
	if len(enc.Requests) == 0 {
		c.t.Fatal("Encode produced no request from Harness.Samples")
	}
	done := make(chan error, 1)
	go func() { done <- c.sink.Send(ctx, enc.Requests[0]) }()
	select {
	case err = <-done:
	case <-time.After(hangGuard):
		c.t.Fatalf("Send did not return within %v", hangGuard)
	}
	if err != nil {
		c.noSecret("Send error", err.Error())
		c.noSecret("Send error (%+v)", fmt.Sprintf("%+v", err))
	}
	return err
}

func (c *check) wantRequests(n int) {
	c.t.Helper()
	if got := c.srv.requests(); got != n {
		c.t.Errorf("destination saw %d requests, want %d", got, n)
	}
}

func (c *check) wantRetries(n int32) {
	c.t.Helper()
	if got := c.retries.Load(); got != n {
		c.t.Errorf("Settings.OnRetry called %d times, want %d (pass it to ClientOptions.OnRetry)", got, n)
	}
}

func (c *check) wantCancelled(err error) {
	c.t.Helper()
	if err == nil || sinks.IsPermanent(err) {
		c.t.Fatalf("Send with a cancelled context = %v, want a retryable error", err)
	}
	if !errors.Is(err, context.Canceled) {
		c.t.Errorf("Send error %q does not wrap context.Canceled (wrap with %%w)", err)
	}
}

func (c *check) noSecret(what, s string) {
	c.t.Helper()
	if strings.Contains(s, c.secret) {
		c.t.Errorf("%s leaks the secret: %s", what, s)
	}
}

// checkLogs renders every log line with its fields and looks for the secret.
func (c *check) checkLogs() {
	c.t.Helper()
	for _, e := range c.logs.All() {
		enc := zapcore.NewMapObjectEncoder()
		for _, f := range e.Context {
			f.AddTo(enc)
		}
		c.noSecret("log line", fmt.Sprintf("%s %s %v", e.Message, e.Caller, enc.Fields))
	}
}
