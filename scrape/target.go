package scrape

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/gzip"
	commoncfg "github.com/prometheus/common/config"
)

// Target defaults.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxBodyBytes = 64 << 20
	DefaultMetricsPath  = "/metrics"
	DefaultUserAgent    = "promfwd"
)

// TargetConfig describes one source to scrape.
type TargetConfig struct {
	Name string // source name; appears in results and errors
	// URL is http://, https:// or unix:///path/to.sock. Userinfo and query
	// values never appear in results or errors.
	URL string
	// MetricsPath is the HTTP path requested over a unix socket; default
	// "/metrics". Ignored for http(s) URLs, which carry their own path.
	MetricsPath string
	// HTTP holds auth (bearer token or file, re-read on every request, basic
	// auth, authorization), TLS, proxy and custom headers (http_headers).
	HTTP commoncfg.HTTPClientConfig
	// UserAgent is sent as User-Agent, e.g. "promfwd/1.2.3"; default "promfwd".
	UserAgent string
	// Timeout bounds the whole scrape (connect, headers, body); default 10s.
	Timeout time.Duration
	// MaxBodyBytes bounds the body after decompression (and on the wire);
	// 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	Limits       Limits // passed to the parser; 0 fields are unlimited
	TargetLabels Labels // sorted; added to every sample by the parser
	// ScrapeProtocols is the Accept preference, by Prometheus'
	// scrape_protocols names; nil means DefaultScrapeProtocols.
	ScrapeProtocols []string
	// HonorLabels and IgnoreTimestamps are Prometheus' honor_labels and
	// honor_timestamps: false (see ParseOptions).
	HonorLabels      bool
	IgnoreTimestamps bool
	// Rewriter is ParseOptions.Rewriter (metric_relabel_configs): text
	// and OpenMetrics samples come out rewritten (Result.Rewritten).
	Rewriter SeriesRewriter
	// BatchPool, when set, provides the arrays of parsed samples and takes
	// them back once Result.Batch's references are all released.
	BatchPool *BatchPool
	// BodyBuffers, when set, is the free list of scrape body buffers the
	// targets of a process share (bodybuf.go); nil: each scrape allocates
	// its body.
	BodyBuffers *BodyBuffers
}

// Target scrapes one source. It keeps the conditional-GET state and the
// previous samples so unchanged answers skip parsing.
type Target struct {
	name    string
	ep      endpoint
	httpCfg commoncfg.HTTPClientConfig
	client  *http.Client
	header  http.Header // sent on every request; cloned per request
	timeout time.Duration
	maxBody int64
	parser  *Parser
	popts   ParseOptions
	pool    *BatchPool // target_batch.go
	bodies  *BodyBuffers
	// exemplars says whether parses keep exemplars (SetExemplars); read
	// by Scrape, set by whoever routes the target's samples.
	exemplars atomic.Bool

	// Reused between scrapes (scrapes of one target never overlap).
	gz    *gzip.Reader
	gzBuf *bufio.Reader

	// State of the last successful parse. prev was handed out in a Result
	// and is never written again; a 304 answer hands out a copy. It is
	// kept only while the target gives validators (ETag, Last-Modified):
	// without them no 304 can come, a byte-identical body is parsed again
	// (the line cache makes that cheap) and the batch is freed once the
	// sinks have encoded it.
	parsed       bool // a parse succeeded since the last SetRewriter
	prev         []Sample
	prevFormat   Format
	prevHash     uint64
	prevLen      int
	prevDropped  Dropped // what the parse of prev left out
	prevEx       bool    // prev was parsed keeping exemplars
	prevRw       RewriteStats
	prevRwDone   bool // prev went through popts.Rewriter
	etag         string
	lastModified string
}

// NewTarget validates cfg and builds the target's HTTP client.
func NewTarget(cfg TargetConfig) (*Target, error) {
	if cfg.Name == "" {
		return nil, errors.New("scrape: target: name is empty")
	}
	if cfg.MetricsPath == "" {
		cfg.MetricsPath = DefaultMetricsPath
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("scrape: target %s: negative timeout %s", cfg.Name, cfg.Timeout)
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("scrape: target %s: negative max body bytes %d", cfg.Name, cfg.MaxBodyBytes)
	case cfg.MaxBodyBytes == 0:
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	ep, err := parseEndpoint(cfg.URL, cfg.MetricsPath)
	if err != nil {
		return nil, fmt.Errorf("scrape: target %s: %w", cfg.Name, err)
	}
	if err := cfg.HTTP.Validate(); err != nil {
		return nil, fmt.Errorf("scrape: target %s: http config: %w", cfg.Name, err)
	}
	// One dialer name for every target: prometheus/common labels global
	// go-conntrack metrics with it and never deletes them, so a name per
	// target grew the heap by ~4 KiB per file_sd target that ever existed
	// (issue 21.10). promfwd does not export those metrics.
	client, err := newHTTPClient(cfg.HTTP, "promfwd_scrape", ep)
	if err != nil {
		return nil, fmt.Errorf("scrape: target %s: %w", cfg.Name, err)
	}
	accept := AcceptHeader
	if cfg.ScrapeProtocols != nil {
		if accept, err = AcceptHeaderFor(cfg.ScrapeProtocols); err != nil {
			return nil, fmt.Errorf("scrape: target %s: %w", cfg.Name, err)
		}
	}
	h := http.Header{}
	h.Set("Accept", accept)
	h.Set("Accept-Encoding", "gzip")
	h.Set("User-Agent", cfg.UserAgent)
	h.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(cfg.Timeout.Seconds(), 'f', -1, 64))
	return &Target{
		name:    cfg.Name,
		ep:      ep,
		httpCfg: cfg.HTTP,
		client:  client,
		header:  h,
		timeout: cfg.Timeout,
		maxBody: cfg.MaxBodyBytes,
		parser:  NewParser(),
		pool:    cfg.BatchPool,
		bodies:  cfg.BodyBuffers,
		popts: ParseOptions{TargetLabels: cfg.TargetLabels, Limits: cfg.Limits,
			HonorLabels: cfg.HonorLabels, IgnoreTimestamps: cfg.IgnoreTimestamps, Rewriter: cfg.Rewriter},
	}, nil
}

// SetRewriter replaces TargetConfig.Rewriter (nil: none) for later
// scrapes, which parse afresh. Not safe while a scrape runs. promfwd once
// scrapes without one to show the samples before and after the rules.
func (t *Target) SetRewriter(r SeriesRewriter) {
	t.popts.Rewriter, t.prev, t.parsed = r, nil, false
}

// SetExemplars makes later scrapes keep exemplars (ParseOptions.Exemplars)
// or drop them. Safe to call while a scrape runs; it applies from the next.
func (t *Target) SetExemplars(on bool) { t.exemplars.Store(on) }

// Name returns the source name.
func (t *Target) Name() string { return t.name }

// URL returns the target's URL as shown in results and errors (no
// credentials, query values redacted).
func (t *Target) URL() string { return t.ep.display }

// Scrape fetches and parses once. Never panics; all failures are in
// Result.Err with context (source name, URL without credentials, status).
// now stamps samples without an exposition timestamp and is Result.Start.
// Not safe for concurrent calls (the scheduler never overlaps scrapes of one
// source). Result.Samples must be treated as read-only: an unchanged scrape
// derives its samples from them.
func (t *Target) Scrape(ctx context.Context, now time.Time) (res Result) {
	res = Result{Source: t.name, URL: t.ep.display, Start: now}
	began := time.Now()
	defer func() {
		if p := recover(); p != nil {
			res.Samples, res.Unchanged = nil, false
			res.Err = fmt.Errorf("scrape %s (%s): internal error: %v", t.name, t.ep.display, p)
		}
		res.Duration = time.Since(began)
	}()

	samples, batch, unchanged, n, maxAge, err := t.scrape(ctx, now)
	res.Bytes, res.MaxAge = n, maxAge
	if err != nil {
		res.Err = fmt.Errorf("scrape %s (%s): %w", t.name, t.ep.display, err)
		return res
	}
	res.Samples, res.Unchanged, res.Dropped, res.Batch = samples, unchanged, t.prevDropped, batch
	res.Series = t.parser.Series()
	res.Rewrite, res.Rewritten = t.prevRw, t.prevRwDone
	return res
}

func (t *Target) scrape(parent context.Context, now time.Time) (samples []Sample, batch *BatchRef, unchanged bool, n int64, maxAge time.Duration, err error) {
	ctx, cancel := context.WithTimeout(parent, t.timeout)
	defer cancel()
	resp, err := t.fetch(ctx)
	if err != nil {
		return nil, nil, false, 0, 0, t.contextError(parent, ctx, err)
	}
	// The parser copies what it keeps (interned strings), so the body
	// buffer is free again once this scrape is done.
	defer t.bodies.put(resp.body)
	n, maxAge = int64(len(resp.body)), resp.maxAge
	if resp.notModified {
		if t.prev == nil {
			// Never asked with validators (none were given), or the
			// last parse failed.
			return nil, nil, false, 0, maxAge, errors.New("target answered 304 Not Modified but there is no previous scrape")
		}
		t.remember(resp)
		return t.restamp(now), nil, true, 0, maxAge, nil
	}
	h := xxhash.Sum64(resp.body)
	opts := t.popts
	opts.NowMs = now.UnixMilli()
	opts.Exemplars = t.exemplars.Load()
	same := t.parsed && h == t.prevHash && len(resp.body) == t.prevLen && resp.format == t.prevFormat && opts.Exemplars == t.prevEx
	if same && t.prev != nil {
		t.remember(resp)
		return t.restamp(now), nil, true, n, maxAge, nil
	}
	samples, batch, err = t.parsePooled(resp.format, resp.body, opts) // target_batch.go
	if err != nil {
		return nil, nil, false, n, maxAge, resp.parseError(err) // fetch.go: names a foreign Content-Type
	}
	t.parsed, t.prevFormat, t.prevHash, t.prevLen = true, resp.format, h, len(resp.body)
	t.prevDropped, t.prevEx = t.parser.Dropped(), opts.Exemplars
	t.prevRw, t.prevRwDone = t.parser.Rewritten()
	if same {
		// The same body as the last parse's, parsed again: unchanged
		// all the same (dedupe may skip it, staleness has nothing to do).
		t.remember(resp)
	} else {
		t.etag, t.lastModified = resp.etag, resp.lastModified
	}
	t.prev = nil
	if t.etag != "" || t.lastModified != "" {
		t.prev = slices.Clip(samples) // a 304 may come; the caller may append past the samples
		batch.Pin()                   // kept beyond any reference
	}
	return samples, batch, same, n, maxAge, nil
}

// remember keeps validators a 304 or identical answer refreshed.
func (t *Target) remember(r response) {
	if r.etag != "" {
		t.etag = r.etag
	}
	if r.lastModified != "" {
		t.lastModified = r.lastModified
	}
}

// restamp returns a fresh copy of the previous samples: those without an
// exposition timestamp get now, the others keep theirs. Sinks may still
// hold the earlier slice, so it is never modified.
func (t *Target) restamp(now time.Time) []Sample {
	ms := now.UnixMilli()
	out := make([]Sample, len(t.prev))
	copy(out, t.prev)
	for i := range out {
		if !out[i].ExplicitTS {
			out[i].TimestampMs = ms
		}
	}
	return out
}

// contextError turns a failure caused by the scrape timeout or the caller's
// cancellation into a clear error; other errors pass unchanged.
func (t *Target) contextError(parent, ctx context.Context, err error) error {
	switch {
	case parent.Err() != nil:
		return fmt.Errorf("cancelled: %w", parent.Err())
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("timed out after %s: %w", t.timeout, context.DeadlineExceeded)
	}
	return err
}

// Close releases idle connections.
func (t *Target) Close() { t.client.CloseIdleConnections() }
