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

	mu  sync.Mutex // serialises Encode, which reuses the encoder's buffers
	enc *encoder
}

var _ sinks.Sink = (*Sink)(nil)

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
		Logger:       log, // the client names the url in its own lines
		TLS:          cfg.TLS,
		Timeout:      cfg.Timeout,
		RetryWaitMax: set.MaxBackoff,
		Health:       set.Health,
		OnRetry:      set.OnRetry,
		OnAttempt:    set.OnAttempt,
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
		url:     cfg.URL,
		shown:   redactURL(u),
		headers: h,
		client:  client,
		enc:     newEncoder(cfg.MaxSamplesPerSend, cfg.Shards),
	}
	return s, nil
}

// Encode turns a batch into remote-write requests; see encoder.encode for
// the guarantees (one TimeSeries per series per request, samples in time
// order, histogram and summary groups whole, stable shard per series).
// Samples without a metric name are counted in Encoded.Dropped.
func (s *Sink) Encode(samples []scrape.Sample) (sinks.Encoded, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enc.encode(samples)
}

// Send posts one request. 2xx is success. Any other 4xx but 408 and 429 (and
// 401/403, which the client keeps retrying while ctx lives) is a
// *sinks.PermanentError carrying the first 512 bytes of the receiver's answer.
// Everything else leaves the request to be tried again.
func (s *Sink) Send(ctx context.Context, req sinks.Request) error {
	ctx, lastStatus := sinks.TrackStatus(ctx)
	hreq, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, s.url, req.Body)
	if err != nil {
		return fmt.Errorf("remotewrite: build request for %s: %w", s.shown, sinks.RedactURLError(err))
	}
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
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			return fmt.Errorf("remotewrite: post to %s: %w (status %d): %w", s.shown, sinks.ErrUnauthorized, status, sinks.RedactURLError(err))
		}
		if status != 0 {
			return fmt.Errorf("remotewrite: post to %s: last status %d: %w", s.shown, status, sinks.RedactURLError(err))
		}
		return fmt.Errorf("remotewrite: post to %s: %w", s.shown, sinks.RedactURLError(err))
	}
	defer sinks.DrainBody(resp.Body)
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	reason := readReason(resp.Body)
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("remotewrite: post to %s: %w (status %d): %s", s.shown, sinks.ErrUnauthorized, code, reason)
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		return &sinks.PermanentError{
			Status: code,
			Reason: reason,
			Err:    fmt.Errorf("remotewrite: %s rejected %d samples", s.shown, req.Samples),
		}
	}
	return fmt.Errorf("remotewrite: post to %s: status %d: %s", s.shown, code, reason)
}

// Close releases idle connections.
func (s *Sink) Close() error {
	s.client.HTTPClient.CloseIdleConnections()
	return nil
}

// readReason returns the start of an answer's body as printable text.
func readReason(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, maxReasonBytes))
	r := strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
	if r == "" {
		return "(empty answer)"
	}
	return r
}
