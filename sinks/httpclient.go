package sinks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	commoncfg "github.com/prometheus/common/config"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/scrape"
)

// ClientOptions configures the retrying HTTP client every HTTP sink uses.
type ClientOptions struct {
	Logger *zap.Logger // scoped with the sink's name by the caller
	TLS    commoncfg.TLSConfig
	// Timeout bounds one attempt (connect, send, read the answer). Default 30s.
	Timeout time.Duration
	// RetryWaitMin / RetryWaitMax bound the exponential backoff (defaults
	// 500ms and 10s). A server's Retry-After may exceed RetryWaitMax, up
	// to MaxServerDelay.
	RetryWaitMin, RetryWaitMax time.Duration
	// Classify is the sink's classification table; nil means HTTPTable.
	// The client retries what it classifies Retry, and Hold for at most
	// MaxHold; the sink reads the final answer with the same table.
	Classify Table
	// MaxHold bounds how long one request is retried while the
	// destination refuses the credentials (Hold). Default DefaultMaxHold.
	MaxHold time.Duration
	// MaxRetryAfter caps a server-requested delay (Retry-After,
	// X-RateLimit-Reset); a longer one is cut to it and logged. Default
	// DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// CheckRetry, if set, replaces the decision derived from Classify; it
	// should delegate to NewCheckRetry (HEC does, to refresh its token).
	CheckRetry retryablehttp.CheckRetry
	// Health, if set, observes every answer (401/403 mark it unhealthy,
	// 2xx healthy again).
	Health *Health
	// OnRetry is called once per retried attempt (for the retries counter).
	OnRetry func()
	// OnAttempt, if set, is called after every HTTP attempt with its
	// duration (to the answer's headers or the error) and the request body
	// bytes sent.
	OnAttempt func(d time.Duration, bytes int64)
	// Backoff computes the wait before each retry. Nil means Backoff. Tests
	// (the sinktest kit) wrap it to observe Retry-After without waiting.
	Backoff retryablehttp.Backoff
}

// MaxServerDelay bounds what ServerDelay reports, so huge header values
// stay finite; the client's MaxRetryAfter (max_retry_after) is what caps
// the actual wait.
const MaxServerDelay = 24 * time.Hour

// NewHTTPClient builds the single retry layer for a sink: retries continue
// until the answer is final or the request's context ends, so a long outage
// keeps the request (and everything queued behind it) instead of losing it.
// Backoff is exponential with jitter, and honours Retry-After and
// X-RateLimit-Reset. The last answer is passed through unchanged so the sink
// can classify it.
func NewHTTPClient(o ClientOptions) (*retryablehttp.Client, error) {
	tlsCfg, err := commoncfg.NewTLSConfig(&o.TLS)
	if err != nil {
		return nil, fmt.Errorf("sinks: tls config: %w", err)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.RetryWaitMin <= 0 {
		o.RetryWaitMin = 500 * time.Millisecond
	}
	if o.RetryWaitMax <= 0 {
		o.RetryWaitMax = 10 * time.Second
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = DefaultMaxRetryAfter
	}
	check := o.CheckRetry
	if check == nil {
		check = NewCheckRetry(o.Classify, o.MaxHold)
	}
	log := o.Logger
	if log == nil {
		log = zap.NewNop()
	}
	backoff := o.Health.trackBackoff(cappedBackoff(o.Backoff, o.MaxRetryAfter, log)) // health_detail.go
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialCopyConn((&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext), // conn.go
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	if tlsCfg == nil {
		transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	c := retryablehttp.NewClient()
	var rt http.RoundTripper = transport
	if o.OnAttempt != nil {
		rt = &observeRT{next: transport, observe: o.OnAttempt}
	}
	c.HTTPClient = &http.Client{Transport: rt, Timeout: o.Timeout, CheckRedirect: noRedirects}
	c.Logger = nil // the sink logs outcomes itself; retryablehttp would log URLs
	c.RetryWaitMin = o.RetryWaitMin
	c.RetryWaitMax = o.RetryWaitMax
	c.RetryMax = math.MaxInt32
	c.Backoff = backoff
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	c.RequestLogHook = func(_ retryablehttp.Logger, _ *http.Request, attempt int) {
		if attempt > 0 && o.OnRetry != nil {
			o.OnRetry()
		}
	}
	// Send keeps retrying inside the client during an outage, so the runner
	// never sees those failures: warn here, at most once per minute.
	warn := newLogLimiter(time.Minute, time.Now)
	c.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if st, ok := ctx.Value(statusKey{}).(*attemptState); ok && resp != nil {
			st.last.Store(int32(resp.StatusCode))
		}
		if o.Health != nil {
			o.Health.Observe(resp, err)
		}
		if rerr := redirectError(resp, err); rerr != nil {
			return false, rerr
		}
		retry, cerr := check(ctx, resp, err)
		if retry {
			rerr := RedactURLError(err)
			log.Debug("attempt failed, will retry", zap.Int("status", statusOf(resp)), zap.Error(rerr))
			if ok, suppressed := warn.allow(); ok {
				fields := []zap.Field{zap.String("url", answerURL(resp, err)), zap.Int("status", statusOf(resp))}
				if resp != nil {
					fields = append(fields, zap.String("reason", answerReason(resp)))
				}
				if rerr != nil {
					fields = append(fields, zap.Error(rerr))
				}
				log.Warn("destination failing, retrying", append(fields, zap.Int("suppressed", suppressed))...)
			}
		}
		return retry, cerr
	}
	return c, nil
}

// noRedirects makes the client hand back a 3xx answer instead of following
// it: a redirect would carry the sink's credentials (DD-API-KEY, the HEC
// token, remote-write headers) to whatever host the answer names.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// redirectError turns a 3xx answer into a *PermanentError, so the request is
// neither retried nor counted as delivered. The target is shown with its
// query values masked.
func redirectError(resp *http.Response, err error) error {
	if err != nil || resp == nil || resp.StatusCode < 300 || resp.StatusCode > 399 {
		return nil
	}
	where := "(no Location)"
	if loc := resp.Header.Get("Location"); loc != "" {
		where = scrape.RedactURL(loc)
	}
	return &PermanentError{
		Status: resp.StatusCode,
		Reason: "redirect to " + where + " not followed: sinks never follow redirects; configure the final URL",
	}
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// NewCheckRetry is the client's retry decision from a classification table
// (nil: HTTPTable): Retry answers are retried, Hold answers for at most
// maxHold (0: DefaultMaxHold) from the request's first one, the rest are
// final. It stops when ctx ends.
func NewCheckRetry(table Table, maxHold time.Duration) retryablehttp.CheckRetry {
	if table == nil {
		table = HTTPTable
	}
	if maxHold <= 0 {
		maxHold = DefaultMaxHold
	}
	return tableCheck(table, maxHold, time.Now)
}

// DefaultCheckRetry is NewCheckRetry(HTTPTable, DefaultMaxHold).
func DefaultCheckRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	return tableCheck(HTTPTable, DefaultMaxHold, time.Now)(ctx, resp, err)
}

// cappedBackoff wraps inner (nil: Backoff) so that no wait exceeds maxWait
// (a server's Retry-After included), and logs when a server asked for more.
func cappedBackoff(inner retryablehttp.Backoff, maxWait time.Duration, log *zap.Logger) retryablehttp.Backoff {
	if inner == nil {
		inner = Backoff
	}
	warn := newLogLimiter(time.Minute, time.Now)
	return func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
		d := inner(lo, hi, attempt, resp)
		if asked := ServerDelay(resp, time.Now()); asked > maxWait {
			if ok, suppressed := warn.allow(); ok {
				log.Warn("server asked to wait longer than max_retry_after; waiting max_retry_after",
					zap.Int("status", statusOf(resp)), zap.Duration("retry_after", asked),
					zap.Duration("max_retry_after", maxWait), zap.Int("suppressed", suppressed))
			}
		}
		return min(d, max(maxWait, hi))
	}
}

// Backoff is exponential (lo * 2^attempt, capped at hi) with equal jitter,
// raised to the server's Retry-After or X-RateLimit-Reset when one is given.
func Backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	hi = max(hi, 0)
	d := min(max(lo, 0), hi)
	for i := 0; i < attempt && d > 0 && d < hi; i++ {
		if d > hi/2 {
			d = hi // doubling would pass the cap (or overflow)
			break
		}
		d *= 2
	}
	d = d/2 + rand.N(d/2+1)
	if s := ServerDelay(resp, time.Now()); s > d {
		d = s
	}
	return d
}

// ServerDelay reads Retry-After (seconds or HTTP date) or, failing that,
// X-RateLimit-Reset (seconds) from a 429 or 503 answer; 0 when absent. The
// result is capped at MaxServerDelay only to keep it finite; the client
// cuts it to max_retry_after.
func ServerDelay(resp *http.Response, now time.Time) time.Duration {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return 0
	}
	d, ok := time.Duration(0), false
	if v := resp.Header.Get("Retry-After"); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			d, ok = secondsDelay(n)
		} else if t, err := http.ParseTime(v); err == nil {
			d, ok = t.Sub(now), true
		}
	}
	if !ok {
		if v := resp.Header.Get("X-RateLimit-Reset"); v != "" {
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				d, _ = secondsDelay(n)
			}
		}
	}
	return min(max(d, 0), MaxServerDelay)
}

// secondsDelay converts a header's seconds, rejecting NaN and negatives and
// capping before the conversion so huge or infinite values cannot overflow.
func secondsDelay(n float64) (time.Duration, bool) {
	if math.IsNaN(n) || n < 0 {
		return 0, false
	}
	if n >= MaxServerDelay.Seconds() {
		return MaxServerDelay, true
	}
	return time.Duration(n * float64(time.Second)), true
}

// RedactURLError drops the *url.Error wrapper (method and URL) from err, so
// a credential carried in a query string can never reach a log line or an
// error; callers name the endpoint themselves.
func RedactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// DrainBody reads a bounded part of an answer's body, so the connection can
// be reused, and closes it.
func DrainBody(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}

// URLSecrets returns the query values and user info of a configured URL, so
// a receiver's answer that echoes the request line can be masked. Values
// shorter than 4 bytes are left out: masking "1" would mangle any text and
// no credential is that short.
func URLSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	var out []string
	add := func(v string) {
		if len(v) >= 4 {
			out = append(out, v, url.QueryEscape(v))
		}
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			add(v)
		}
	}
	if u.User != nil {
		add(u.User.Username())
		if pw, ok := u.User.Password(); ok {
			add(pw)
		}
	}
	return out
}

// observeRT times every attempt and counts its body bytes.
type observeRT struct {
	next    http.RoundTripper
	observe func(d time.Duration, bytes int64)
}

func (o *observeRT) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := o.next.RoundTrip(req)
	o.observe(time.Since(start), max(req.ContentLength, 0))
	return resp, err
}
