// Package hec owns the Splunk HTTP Event Collector sink: the encoding of
// samples as HEC metric events (single- or multi-metric, gzip), delivery to
// /services/collector with HEC's answer codes classified for the shared
// retry layer, splitting of requests the receiver finds too large, and
// optional indexer acknowledgement. Batching, queueing and backoff live in
// package sinks.
package hec

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/secret"
)

// Paths of the HEC endpoints, relative to the configured base URL.
const (
	PathEvent  = "/services/collector"
	PathAck    = "/services/collector/ack"
	PathHealth = "/services/collector/health"
)

// Sink delivers samples to one HEC endpoint.
type Sink struct {
	cfg       Config
	log       *zap.Logger
	health    *sinks.Health
	client    *retryablehttp.Client
	eventURL  string
	healthURL string
	ackBase   string // the ack endpoint without its channel query
	channel   string // set before Start (New or RestoreDelivery), read-only after
	userAgent string
	tokens    *secret.Source
	clock     clockwork.Clock

	// The retry decision of Classify within max_auth_hold, and the wait
	// before each attempt of a split request.
	check      retryablehttp.CheckRetry
	splitPause time.Duration

	encMu        sync.Mutex
	enc          *encoder
	collisionLog time.Time // last name-collision log line (under encMu)

	acks     *acker
	pollOnce sync.Once
	bg       context.Context
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

var (
	_ sinks.Sink    = (*Sink)(nil)
	_ sinks.Starter = (*Sink)(nil)
	_ sinks.Laner   = (*Sink)(nil)
)

// Lanes implements sinks.Laner. HEC needs no order between requests, so
// the encoder deals them round-robin over the lanes. Without indexer
// acknowledgement that is `concurrency` lanes; with it, a request occupies
// its lane until its ack comes, so the sink runs ack.max_outstanding lanes
// (or concurrency, if larger) and one poll covers all of them.
func (s *Sink) Lanes(concurrency int) int {
	if s.acks != nil {
		outstanding := s.cfg.Ack.MaxOutstanding
		if outstanding == 0 {
			outstanding = DefaultMaxOutstanding
		}
		return max(concurrency, outstanding)
	}
	return concurrency
}

// Option adjusts a Sink for tests.
type Option func(*options)

type options struct {
	clock clockwork.Clock
	tune  func(*sinks.ClientOptions) // tests: shorten waits, observe backoff
}

// WithClock sets the clock that drives ack polling and ack timeouts.
func WithClock(c clockwork.Clock) Option { return func(o *options) { o.clock = c } }

// withTune lets tests adjust the retry layer's options (waits, backoff hook).
func withTune(f func(*sinks.ClientOptions)) Option { return func(o *options) { o.tune = f } }

// New validates cfg and builds the sink. It starts no goroutine; see Start.
func New(cfg Config, set sinks.Settings, opts ...Option) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{clock: clockwork.NewRealClock()}
	for _, f := range opts {
		f(&o)
	}
	base, err := baseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("hec sink config: %w", err)
	}
	if cfg.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("hec: host not set and os.Hostname failed: %w", err)
		}
		cfg.Host = h
	}
	// A credential file that cannot be read does not stop the service: the
	// sink starts unhealthy (see /readyz), keeps its data queued, and
	// recovers once the file is there.
	tokens := secret.Open("hec: token_file", string(cfg.Token), cfg.TokenFile, credentialFailed(set))
	_, _ = tokens.Get() // marks the sink unhealthy now if the file is missing
	log := set.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s := &Sink{
		cfg:       cfg,
		log:       log,
		health:    set.Health,
		eventURL:  base.JoinPath(PathEvent).String(),
		healthURL: base.JoinPath(PathHealth).String(),
		channel:   uuid.NewString(),
		userAgent: set.UserAgent,
		tokens:    tokens,
		clock:     o.clock,
		enc:       newEncoder(cfg, cfg.Host),
	}
	if s.userAgent == "" {
		s.userAgent = "promfwd"
	}
	s.enc.bodies = sinks.NewBodyPool(0, 0) // body.go
	co := sinks.ClientOptions{
		Logger:       log,
		TLS:          cfg.TLS,
		Timeout:      time.Duration(cfg.Timeout),
		RetryWaitMax: set.MaxBackoff,
		CheckRetry:   s.checkRetry,
		Health:       set.Health,
		OnRetry:      set.OnRetry,
		OnAttempt:    set.OnAttempt,
	}
	co.Classify, co.MaxHold, co.MaxRetryAfter = Classify, time.Duration(cfg.MaxAuthHold), time.Duration(cfg.MaxRetryAfter)
	if o.tune != nil {
		o.tune(&co)
	}
	s.check = sinks.NewCheckRetry(co.Classify, co.MaxHold)
	s.splitPause = co.RetryWaitMin // 0: sinks.DefaultSplitPause
	s.client, err = sinks.NewHTTPClient(co)
	if err != nil {
		return nil, fmt.Errorf("hec: %w", err)
	}
	s.client.PrepareRetry = s.prepareRetry
	s.bg, s.stop = context.WithCancel(context.Background())
	if cfg.Ack.Enabled {
		s.ackBase = base.JoinPath(PathAck).String()
		s.acks = &acker{
			sink:     s,
			url:      ackURL(s.ackBase, s.channel),
			interval: time.Duration(cfg.Ack.PollInterval),
			pending:  make(map[int64]chan struct{}),
			posted:   make(map[bodyKey]postedAck),
		}
	}
	return s, nil
}

// ackURL is the ack endpoint with its channel query, built with net/url.
func ackURL(base, channel string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.RawQuery = url.Values{"channel": {channel}}.Encode()
	return u.String()
}

// Channel returns the sink's HEC channel GUID (sent as
// X-Splunk-Request-Channel on every request).
func (s *Sink) Channel() string { return s.channel }

// Encode turns samples into HEC requests (see Config for the limits).
func (s *Sink) Encode(samples []scrape.Sample) (sinks.Encoded, error) {
	s.encMu.Lock()
	defer s.encMu.Unlock()
	enc, err := s.enc.encode(samples)
	if enc.NameCollisions > 0 {
		if now := s.clock.Now(); now.Sub(s.collisionLog) >= time.Minute {
			s.collisionLog = now
			s.log.Warn("hec: metric names collide after mapping to Splunk's rules; dropping the later series",
				zap.String("url", s.eventURL), zap.String("metric", s.enc.collided[0]),
				zap.String("mapped_to", s.enc.collided[1]), zap.Int("samples", enc.NameCollisions))
		}
	}
	return enc, err
}

// Start probes the health endpoint once (logging the outcome) and, with
// indexer acknowledgement enabled, starts the ack poller. It does not block;
// the work stops when ctx ends or the sink is closed.
func (s *Sink) Start(ctx context.Context) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.probe(ctx)
	}()
	s.startPoller(ctx)
}

// startPoller starts the one ack poller goroutine, at most once.
func (s *Sink) startPoller(ctx context.Context) {
	if s.acks == nil {
		return
	}
	s.pollOnce.Do(func() {
		s.wg.Add(1)
		ctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(s.bg, cancel)
		go func() {
			defer s.wg.Done()
			defer cancel()
			defer stop()
			s.acks.run(ctx)
		}()
	})
}

// probe asks the health endpoint once whether HEC is up.
func (s *Sink) probe(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.bg, cancel)
	defer stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.healthURL, nil)
	if err != nil {
		s.log.Warn("hec health probe failed", zap.String("url", s.healthURL), zap.Error(err))
		return
	}
	req.Header.Set("User-Agent", s.userAgent)
	resp, err := s.client.HTTPClient.Do(req)
	if err != nil {
		s.log.Warn("hec not reachable", zap.String("url", s.healthURL), zap.Error(sinks.RedactURLError(err)))
		return
	}
	defer resp.Body.Close()
	a := readAnswer(resp.Body)
	if resp.StatusCode == http.StatusOK {
		s.log.Info("hec reachable", zap.String("url", s.healthURL), zap.Int("code", a.code()), zap.String("text", s.tokens.Redact(a.Text)))
		return
	}
	s.log.Warn("hec unhealthy", zap.String("url", s.healthURL), zap.Int("status", resp.StatusCode),
		zap.Int("code", a.code()), zap.String("text", s.tokens.Redact(a.Text)))
}

// Close stops background work and releases idle connections.
func (s *Sink) Close() error {
	s.stop()
	s.wg.Wait()
	s.client.HTTPClient.CloseIdleConnections()
	return nil
}

// answer is HEC's JSON reply.
type answer struct {
	Text               string `json:"text"`
	Code               *int   `json:"code"`
	AckID              *int64 `json:"ackId"`
	InvalidEventNumber *int   `json:"invalid-event-number"`
}

func (a answer) code() int {
	if a.Code == nil {
		return -1
	}
	return *a.Code
}

// readAnswer decodes up to 64 KiB of a reply; a reply that is not HEC JSON
// yields an answer whose Text is the start of the body.
func readAnswer(r io.Reader) answer {
	b, _ := io.ReadAll(io.LimitReader(r, 64<<10))
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		if len(b) > 200 {
			b = b[:200]
		}
		a = answer{Text: string(b)}
	}
	return a
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
