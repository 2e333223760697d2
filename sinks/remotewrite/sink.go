// Package remotewrite owns the Prometheus remote-write 1.0 sink: encoding
// sample batches into snappy-compressed protobuf WriteRequests (by hand, with
// protowire, without importing prometheus/prometheus), spreading series over
// shards while keeping each series in order, and sending one request through
// the shared retrying HTTP client, classifying the answer.
package remotewrite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	commoncfg "github.com/prometheus/common/config"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// maxReasonBytes is how much of a rejection's body becomes the error reason.
const maxReasonBytes = 512

// Sink sends samples to a Prometheus remote-write 1.0 receiver.
type Sink struct {
	url     string // the endpoint as configured
	shown   string // the endpoint without credentials or query, for errors and logs
	headers http.Header
	client  *retryablehttp.Client
	log     *zap.Logger
	// splitPause is the wait before each attempt of a split request.
	splitPause time.Duration
	secrets    *redactor // masks credentials echoed in a receiver's answer

	exemplars bool // send_exemplars

	mu   sync.Mutex // serialises Encode, which reuses the encoder's buffers
	enc  *encoder
	meta *metaTracker // nil when metadata_config.send is false
	now  func() time.Time
}

var (
	_ sinks.Sink           = (*Sink)(nil)
	_ sinks.ExemplarSender = (*Sink)(nil)
)

// SendsExemplars reports whether the sink sends exemplars (send_exemplars).
func (s *Sink) SendsExemplars() bool { return s.exemplars }

// New validates cfg and builds the sink and its HTTP client.
func New(cfg Config, set sinks.Settings) (*Sink, error) {
	return newSink(cfg, set, nil)
}

// newSink lets tests shorten the client's backoff through tune.
func newSink(cfg Config, set sinks.Settings, tune func(*sinks.ClientOptions)) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, errors.New("remotewrite: url: cannot parse")
	}
	log := set.Logger
	if log == nil {
		log = zap.NewNop()
	}
	opts := sinks.ClientOptions{
		Logger:        log, // the client names the url in its own lines
		TLS:           cfg.TLS,
		Timeout:       cfg.Timeout,
		RetryWaitMax:  set.MaxBackoff,
		Health:        set.Health,
		OnRetry:       set.OnRetry,
		OnAttempt:     set.OnAttempt,
		Classify:      Classify,
		MaxRetryAfter: cfg.MaxRetryAfter,
	}
	if tune != nil {
		tune(&opts)
	}
	client, err := sinks.NewHTTPClient(opts)
	if err != nil {
		return nil, fmt.Errorf("remotewrite: %w", err)
	}
	// Credentials are added per attempt by round trippers, so a token or
	// password file is re-read when a retry follows its rotation.
	rt := client.HTTPClient.Transport
	switch {
	case cfg.BearerToken != "":
		rt = commoncfg.NewAuthorizationCredentialsRoundTripper("Bearer", commoncfg.NewInlineSecret(string(cfg.BearerToken)), rt)
	case cfg.BearerTokenFile != "":
		rt = commoncfg.NewAuthorizationCredentialsRoundTripper("Bearer", commoncfg.NewFileSecret(cfg.BearerTokenFile), rt)
	case cfg.BasicAuth != nil:
		var pw commoncfg.SecretReader = commoncfg.NewInlineSecret(string(cfg.BasicAuth.Password))
		if cfg.BasicAuth.PasswordFile != "" {
			pw = commoncfg.NewFileSecret(cfg.BasicAuth.PasswordFile)
		}
		rt = commoncfg.NewBasicAuthRoundTripper(commoncfg.NewInlineSecret(cfg.BasicAuth.Username), pw, rt)
	}
	client.HTTPClient.Transport = rt

	ua := set.UserAgent
	if ua == "" {
		ua = "promfwd"
	}
	h := make(http.Header, len(cfg.Headers)+4)
	for k, v := range cfg.Headers {
		h.Set(k, string(v))
	}
	h.Set("Content-Encoding", "snappy")
	h.Set("Content-Type", "application/x-protobuf")
	h.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	h.Set("User-Agent", ua)

	s := &Sink{
		url:        cfg.URL,
		shown:      redactURL(u),
		headers:    h,
		client:     client,
		log:        log,
		splitPause: opts.RetryWaitMin, // 0: sinks.DefaultSplitPause
		enc:        newEncoder(cfg.MaxSamplesPerSend, cfg.Shards),
		meta:       newMetaTracker(cfg.Metadata),
		now:        time.Now,
		secrets:    newRedactor(cfg),
		exemplars:  cfg.SendExemplars,
	}
	if cfg.SendExemplars {
		s.enc.exemplars = &exMemo{}
	}
	s.enc.bodies = sinks.NewBodyPool(0, 0)
	return s, nil
}

// Recycle implements sinks.Recycler: the Runner hands back a body nothing
// reads any more, and the encoder's next request reuses it.
func (s *Sink) Recycle(body []byte) { s.enc.bodies.Put(body) }

// Encode turns a batch into remote-write requests; see encoder.encode for
// the guarantees (one TimeSeries per series per request, samples in time
// order, histogram and summary groups whole, stable shard per series).
// Samples without a metric name are counted in Encoded.Dropped.
func (s *Sink) Encode(samples []scrape.Sample) (sinks.Encoded, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enc.exemplars != nil {
		s.enc.exemplars.rotate(s.now())
	}
	out, err := s.enc.encode(samples)
	if err != nil || s.meta == nil {
		return out, err
	}
	// Metadata rides in requests of its own, as Prometheus sends it; they
	// go first so a receiver knows a family before its samples.
	now := s.now()
	s.meta.observe(samples, now)
	if md := s.meta.due(now); len(md) > 0 {
		out.Requests = append(md, out.Requests...)
	}
	return out, nil
}

// Classify is the remote-write 1.0 classification (the README's retry
// table): the spec says senders MUST retry 5xx and 429 and MUST NOT retry
// other 4xx, so 401, 403 and 408 drop the request like 400. 413, and a 400
// that names samples (see sampleReason), split the request to deliver the
// rest.
func Classify(status int) sinks.Action {
	switch {
	case status == sinks.StatusNetworkError:
		return sinks.Retry
	case status >= 200 && status < 300:
		return sinks.Deliver
	case status == http.StatusTooManyRequests, status >= 500:
		return sinks.Retry
	case status == http.StatusRequestEntityTooLarge:
		return sinks.Split
	}
	return sinks.Reject
}

// Send posts one request. 2xx is success. A 413, or a 400 naming samples
// (out of order, out of bounds, too old, duplicate), splits the request and
// sends the halves, down to single samples, which are then dropped and
// counted under the receiver's reason: the rest is delivered. Any other
// 4xx is a *sinks.PermanentError carrying the first 512 bytes of the
// receiver's answer. A retryable error means the client stopped (ctx).
func (s *Sink) Send(ctx context.Context, req sinks.Request) error {
	// A few bad samples are isolated in about 2·log2(n) requests each; the
	// budget bounds what a receiver refusing everything sees.
	return s.send(sinks.WithSplitBudget(ctx, s.splitPause), req.Body, req.Samples)
}

func (s *Sink) send(ctx context.Context, body []byte, samples int) error {
	code, reason, err := s.post(ctx, body)
	if err != nil {
		return err
	}
	switch Classify(code) {
	case sinks.Deliver:
		return nil
	case sinks.Split:
		return s.split(ctx, body, samples, code, reason, "too_large")
	case sinks.Reject:
		if r := sampleReason(reason); code == http.StatusBadRequest && r != "" {
			return s.split(ctx, body, samples, code, reason, r)
		}
		err := fmt.Errorf("remotewrite: %s rejected %d samples", s.shown, samples)
		if code == http.StatusUnauthorized || code == http.StatusForbidden {
			err = fmt.Errorf("remotewrite: %s rejected %d samples: %w", s.shown, samples, sinks.ErrUnauthorized)
		}
		return &sinks.PermanentError{Status: code, Reason: reason, Err: err}
	}
	// A Retry answer is final only when ctx ended between attempts.
	return fmt.Errorf("remotewrite: post to %s: status %d: %s", s.shown, code, reason)
}

// split sends the two halves of a request the receiver refused in part,
// pausing before each (sinks.SplitWait). At one sample, or when the split
// budget is spent, what is left is dropped and counted under dropReason.
func (s *Sink) split(ctx context.Context, body []byte, samples int, code int, reason, dropReason string) error {
	drop := func(why string, n int) error {
		return &sinks.PermanentError{Status: code, Reason: why + reason, Samples: n, DropReason: dropReason,
			Err: fmt.Errorf("remotewrite: %s rejected %d samples", s.shown, n)}
	}
	a, b, na, nb, ok, err := splitBody(body)
	if err != nil {
		return drop(err.Error()+": ", samples)
	}
	if !ok {
		return drop("", samples)
	}
	s.log.Debug("receiver refused part of a request, sending it in two halves",
		zap.Int("status", code), zap.String("reason", reason), zap.Int("samples", samples))
	var errs [2]error
	for i, half := range [2]struct {
		body []byte
		n    int
	}{{a, na}, {b, nb}} {
		if err := sinks.SplitWait(ctx); errors.Is(err, sinks.ErrSplitBudget) {
			errs[i] = drop("split budget spent: ", half.n)
			continue
		} else if err != nil {
			return fmt.Errorf("remotewrite: split request for %s: %w", s.shown, err)
		}
		errs[i] = s.send(ctx, half.body, half.n)
		if errs[i] != nil && !sinks.IsPermanent(errs[i]) {
			return errs[i] // the whole request stays queued (at-least-once)
		}
	}
	return errors.Join(errs[0], errs[1])
}

// post sends body through the retrying client and returns the final
// answer's status and reason; an error means no final answer (ctx ended).
func (s *Sink) post(ctx context.Context, body []byte) (int, string, error) {
	ctx, lastStatus := sinks.TrackStatus(ctx)
	hreq, release, err := sinks.NewBodyRequest(ctx, http.MethodPost, s.url, body)
	if err != nil {
		return 0, "", fmt.Errorf("remotewrite: build request for %s: %w", s.shown, sinks.RedactURLError(err))
	}
	defer release() // runs after the answer is drained: no reader of body outlives Send
	for k, v := range s.headers {
		hreq.Header[k] = v
	}
	resp, err := s.client.Do(hreq)
	if err != nil {
		// The client gives up only when ctx ends (or the answer is final);
		// the last answer, if any, says why we were still retrying.
		status := lastStatus()
		if resp != nil {
			status = resp.StatusCode
			sinks.DrainBody(resp.Body)
		}
		if status != 0 {
			return 0, "", fmt.Errorf("remotewrite: post to %s: last status %d: %w", s.shown, status, sinks.RedactURLError(err))
		}
		return 0, "", fmt.Errorf("remotewrite: post to %s: %w", s.shown, sinks.RedactURLError(err))
	}
	defer sinks.DrainBody(resp.Body)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, "", nil
	}
	return resp.StatusCode, readReason(resp.Body, s.secrets.redact), nil
}

// Close releases idle connections.
func (s *Sink) Close() error {
	s.client.HTTPClient.CloseIdleConnections()
	return nil
}

// readReason returns the start of an answer's body as printable text, with
// credentials masked. It masks before cutting to maxReasonBytes, so a secret
// straddling the cut cannot leave a prefix behind.
func readReason(body io.Reader, redact func(string) string) string {
	b, _ := io.ReadAll(io.LimitReader(body, 4*maxReasonBytes))
	r := strings.TrimSpace(redact(strings.ToValidUTF8(string(b), "\uFFFD")))
	if len(r) > maxReasonBytes {
		r = strings.ToValidUTF8(r[:maxReasonBytes], "")
	}
	if r == "" {
		return "(empty answer)"
	}
	return r
}
