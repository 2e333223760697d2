// Package datadog owns the Datadog metrics sink: it maps samples onto the
// /api/v2/series intake the way Datadog's own OpenMetrics check does
// (counters as reset-aware deltas of type count, gauges as gauges,
// histogram and summary parts with upper_bound / quantile tags), keeps the
// per-series delta state (saveable across restarts), packs series into
// requests within the intake's size limits, and classifies the intake's
// answers. Its strict test receiver lives in sinks/datadog/ddtest.
package datadog

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/jsonw"
	"github.com/promfwd/promfwd/sinks/secret"
)

var (
	_ sinks.Sink  = (*Sink)(nil)
	_ sinks.Laner = (*Sink)(nil)
)

// Sink delivers samples to Datadog's series intake.
type Sink struct {
	cfg       Config
	endpoint  string
	urlVals   []string // the URL's query values, masked in the intake's answers
	shown     string   // endpoint with query values masked, for logs and errors
	userAgent string
	log       *zap.Logger
	client    *retryablehttp.Client
	clock     clockwork.Clock
	key       *secret.Source
	limits    limits
	deltas    *deltaTracker
	lanes     atomic.Int32 // set by Lanes before the runner starts; 0 means 1

	// splitPause is the wait before each attempt of a split request.
	splitPause time.Duration

	// Used by Encode only (one goroutine at a time).
	enc            encoder
	resourcesJSON  []byte    // `[{"name":"<host>","type":"host"}]`
	staticTagsJSON []byte    // `"a:b","c"` (no brackets)
	staticTagsSum  uint64    // their hashes summed (see collisions.check)
	collisionLog   time.Time // last tag-collision log line
}

// collisionLogEvery spaces the tag-collision log lines.
const collisionLogEvery = time.Minute

// options are the seams tests use; New uses the defaults.
type options struct {
	clock                      clockwork.Clock
	retryWaitMin, retryWaitMax time.Duration
	limits                     limits
	tune                       func(*sinks.ClientOptions) // the sinktest kit's hook
}

// New validates cfg and builds the sink. When APIKeyFile is set the file
// must be readable now; it is re-read whenever it changes.
func New(cfg Config, set sinks.Settings) (*Sink, error) {
	return newSink(cfg, set, options{})
}

func newSink(cfg Config, set sinks.Settings, o options) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.clock == nil {
		o.clock = clockwork.NewRealClock()
	}
	if o.limits == (limits{}) {
		o.limits = defaultLimits()
	}
	log := set.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("datadog: host: %w", err)
		}
		cfg.Host = h
	}
	// A credential file that cannot be read does not stop the service: the
	// sink starts unhealthy (see /readyz), keeps its data queued, and
	// recovers once the file is there.
	key := secret.Open("datadog: api_key_file", string(cfg.APIKey), cfg.APIKeyFile, credentialFailed(set))
	_, _ = key.Get() // marks the sink unhealthy now if the file is missing
	co := sinks.ClientOptions{
		Logger:       log,
		TLS:          cfg.TLS,
		Timeout:      cfg.Timeout,
		RetryWaitMin: o.retryWaitMin,
		RetryWaitMax: cmp.Or(o.retryWaitMax, set.MaxBackoff),
		Health:       set.Health,
		OnRetry:      set.OnRetry,
		OnAttempt:    set.OnAttempt,
	}
	co.Classify, co.MaxHold, co.MaxRetryAfter = Classify, cfg.MaxAuthHold, cfg.MaxRetryAfter
	if o.tune != nil {
		o.tune(&co)
	}
	client, err := sinks.NewHTTPClient(co)
	if err != nil {
		return nil, fmt.Errorf("datadog: %w", err)
	}
	s := &Sink{
		cfg:       cfg,
		endpoint:  cfg.endpoint(),
		shown:     scrape.RedactURL(cfg.endpoint()),
		urlVals:   sinks.URLSecrets(cfg.URL),
		userAgent: set.UserAgent,
		log:       log,
		client:    client,
		clock:     o.clock,
		key:       key,
		limits:    o.limits,
		deltas:    newDeltaTracker(cfg.CounterStateTTL),
		enc: encoder{
			names:  make(map[nameKey]string),
			bounds: make(map[string]string),
			comp:   newCompressor(cfg.Compression),
		},
	}
	s.splitPause = co.RetryWaitMin // 0: sinks.DefaultSplitPause
	s.enc.comp.bodies = sinks.NewBodyPool(0, 0)
	s.resourcesJSON = append([]byte(`[{"name":`), jsonw.AppendString(nil, cfg.Host)...)
	s.resourcesJSON = append(s.resourcesJSON, `,"type":"host"}]`...)
	for i, t := range cfg.Tags {
		if i > 0 {
			s.staticTagsJSON = append(s.staticTagsJSON, ',')
		}
		nt := normalizeStatic(t)
		s.staticTagsJSON = jsonw.AppendString(s.staticTagsJSON, nt)
		s.staticTagsSum += xxhash.Sum64String(nt)
	}
	log.Debug("datadog sink ready", zap.String("url", s.shown), zap.String("compression", cfg.Compression),
		zap.String("send_counters_as", cfg.SendCountersAs))
	return s, nil
}

// Send posts one request. 2xx means delivered. A 413 splits the request's
// series in two halves and sends both (recursively), so nothing is dropped
// for size; note that when the second half then fails, the first half is
// delivered again with the whole request later (at-least-once). 400-class
// answers are *sinks.PermanentError carrying the intake's errors; 401/403
// (retried until ctx ends, with Health unhealthy) wrap sinks.ErrUnauthorized.
func (s *Sink) Send(ctx context.Context, req sinks.Request) error {
	return s.send(sinks.WithSplitBudget(ctx, s.splitPause), req.Body)
}

func (s *Sink) send(ctx context.Context, body []byte) error {
	key, err := s.key.Get()
	if err != nil {
		return err
	}
	r, release, err := sinks.NewBodyRequest(ctx, http.MethodPost, s.endpoint, body)
	if err != nil {
		return fmt.Errorf("datadog: build request: %w", sinks.RedactURLError(err))
	}
	defer release() // runs after the answer is drained: no reader of body outlives Send
	r.Header.Set("DD-API-KEY", key)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Content-Encoding", s.cfg.Compression)
	if s.userAgent != "" {
		r.Header.Set("User-Agent", s.userAgent)
	}
	statusCtx, lastStatus := sinks.TrackStatus(ctx)
	r = r.WithContext(statusCtx)
	resp, err := s.client.Do(r)
	if resp != nil && ctx.Err() != nil {
		// Retries ended with ctx, not with a final answer.
		sinks.DrainBody(resp.Body)
		resp = nil
	}
	err = sinks.RedactURLError(err) // the URL's query may hold a key
	if resp == nil {
		if err == nil {
			err = errors.New("no response")
		}
		// Retries ended (ctx) between attempts: report the last answer,
		// so a credentials problem is still recognisable.
		switch code := lastStatus(); code {
		case 0:
			return fmt.Errorf("datadog: post series: %w", err)
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("datadog: post series: last answer %d: %w: %w", code, sinks.ErrUnauthorized, err)
		default:
			return fmt.Errorf("datadog: post series: last answer %d: %w", code, err)
		}
	}
	defer resp.Body.Close()
	// The answer is small; read a bounded prefix and let the rest go.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestEntityTooLarge:
		return s.sendSplit(ctx, body)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		// Final only once the key was refused for max_auth_hold.
		return &sinks.PermanentError{Status: code,
			Reason: "API key refused for longer than max_auth_hold: " + s.reason(answer, key),
			Err:    fmt.Errorf("datadog: post series: %w", sinks.ErrUnauthorized)}
	case Classify(code) == sinks.Reject:
		return &sinks.PermanentError{Status: code, Reason: s.reason(answer, key)}
	}
	if err != nil {
		return fmt.Errorf("datadog: post series: status %d: %w", code, err)
	}
	return fmt.Errorf("datadog: post series: status %d: %s", code, s.reason(answer, key))
}

func (s *Sink) sendSplit(ctx context.Context, body []byte) error {
	a, b, ok, err := splitBody(s.cfg.Compression, body)
	if err != nil {
		return &sinks.PermanentError{Status: http.StatusRequestEntityTooLarge, Reason: "request too large and cannot be split", Err: err}
	}
	if !ok {
		return &sinks.PermanentError{Status: http.StatusRequestEntityTooLarge, Reason: "a single series exceeds the intake's request limit"}
	}
	s.log.Info("intake answered 413, sending the request in two halves",
		zap.String("url", s.shown), zap.Int("bytes", len(body)))
	// As HEC does: a permanent rejection of one half does not stop the
	// other; a retryable failure keeps the whole request queued.
	var errs []error
	for _, half := range [2][]byte{a, b} {
		if err := sinks.SplitWait(ctx); err != nil {
			return errors.Join(append(errs, err)...) // a spent budget is a *sinks.PermanentError
		}
		if err := s.send(ctx, half); err != nil {
			if !sinks.IsPermanent(err) {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Classify is Datadog's classification (the README's retry table):
// sinks.HTTPTable. Network errors, 408, 429 and 5xx but 501 are retried;
// 401/403 held for max_auth_hold; 413 split; 501 and other 4xx rejected.
func Classify(status int) sinks.Action { return sinks.HTTPTable(status) }

// reason renders the intake's answer with the API key and the URL's
// query values masked.
func (s *Sink) reason(answer []byte, key string) string {
	return intakeErrors(answer, append(s.urlVals[:len(s.urlVals):len(s.urlVals)], key)...)
}

// maxReason bounds the intake's explanation carried in errors.
const maxReason = 512

// intakeErrors renders the intake's {"errors":[...]} answer (or the raw
// body when it is not that shape), at most maxReason bytes, with the API
// key and the URL's query values masked should a proxy echo them. It masks
// before cutting, so no prefix of a secret survives the cut.
func intakeErrors(body []byte, hide ...string) string {
	var p struct {
		Errors []string `json:"errors"`
	}
	text := strings.TrimSpace(string(body))
	if err := json.Unmarshal(body, &p); err == nil && len(p.Errors) > 0 {
		text = strings.Join(p.Errors, "; ")
	}
	text = secret.Mask(text, hide...)
	if len(text) > maxReason {
		text = text[:maxReason]
	}
	if text == "" {
		text = "no explanation"
	}
	return text
}

// Close releases idle connections.
func (s *Sink) Close() error {
	s.client.HTTPClient.CloseIdleConnections()
	return nil
}

// SnapshotState returns the counter delta state (versioned binary), without
// expired entries. Save it after the requests encoded so far are durably
// queued: a snapshot older than the queue makes the next delta repeat what
// the queue already holds; a queue lost while the state is kept loses
// those deltas.
func (s *Sink) SnapshotState() ([]byte, error) {
	return s.deltas.snapshot(s.clock.Now()), nil
}

// RestoreState replaces the counter delta state with a snapshot's, so the
// first scrape after a restart yields the delta since the last scrape
// before it. Entries older than counter_state_ttl expire as usual.
func (s *Sink) RestoreState(b []byte) error {
	return s.deltas.restore(b)
}

// credentialFailed marks the sink unhealthy while its credential file
// cannot be read.
func credentialFailed(set sinks.Settings) func(error) {
	return func(err error) {
		if set.Health != nil {
			set.Health.Fail(err.Error())
		}
	}
}

// Recycle implements sinks.Recycler: the Runner hands back a body nothing
// reads any more, and the next request's compressed body reuses it.
func (s *Sink) Recycle(body []byte) { s.enc.comp.bodies.Put(body) }
