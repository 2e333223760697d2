package remotewrite

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// Defaults applied by DefaultConfig.
const (
	DefaultMaxSamplesPerSend = 2000
	DefaultShards            = 1
	DefaultTimeout           = 30 * time.Second
	// MaxShards bounds `shards`; more parallelism than this only splits
	// requests into uselessly small pieces.
	MaxShards = 256
)

// Config is the `remotewrite` sink's section of the config file. Start from
// DefaultConfig, decode the YAML over it, then call Validate.
type Config struct {
	// URL is the receiver's write endpoint, e.g.
	// http://prometheus:9090/api/v1/write.
	URL string `yaml:"url"`
	// Headers are sent with every request. Values are secrets (they often
	// carry API keys) and print as <secret>. The protocol's own headers
	// cannot be overridden; see ReservedHeaders.
	Headers map[string]commoncfg.Secret `yaml:"headers,omitempty"`
	// BearerToken or BearerTokenFile (re-read for every attempt, so a
	// rotated token is picked up) set `Authorization: Bearer ...`.
	BearerToken     commoncfg.Secret `yaml:"bearer_token,omitempty"`
	BearerTokenFile string           `yaml:"bearer_token_file,omitempty"`
	// BasicAuth sets `Authorization: Basic ...`.
	BasicAuth *BasicAuth `yaml:"basic_auth,omitempty"`
	// TLS configures CA, client certificate and server name.
	TLS commoncfg.TLSConfig `yaml:"tls,omitempty"`
	// Timeout bounds one attempt (connect, send, read the answer).
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// MaxSamplesPerSend caps the samples in one request. A histogram or
	// summary group larger than this still travels whole, alone.
	MaxSamplesPerSend int `yaml:"max_samples_per_send,omitempty"`
	// Shards is how many independent request streams the encoder spreads
	// series over (sinks.Request.Shard). Every sample of a series, and
	// every series of a histogram or summary, always lands in the same
	// shard, so per-series order holds while shards are sent in parallel.
	Shards int `yaml:"shards,omitempty"`
	// MaxRetryAfter caps a receiver's Retry-After (or X-RateLimit-Reset):
	// a longer wait is cut to it, and logged. Default
	// sinks.DefaultMaxRetryAfter (5m).
	MaxRetryAfter time.Duration `yaml:"max_retry_after,omitempty"`
	// Metadata sends metric metadata (TYPE, HELP, UNIT) periodically, as
	// Prometheus' metadata_config does.
	Metadata MetadataConfig `yaml:"metadata_config"`
	// SendExemplars forwards the exemplars of scraped samples (OpenMetrics
	// and protobuf counters and histogram buckets) in TimeSeries.exemplars,
	// Prometheus' remote_write key of the same name. Default false, as there:
	// sources feeding no such sink do not even keep exemplars.
	SendExemplars bool `yaml:"send_exemplars"`
}

// BasicAuth holds HTTP basic-auth credentials; exactly one of Password and
// PasswordFile may be set. PasswordFile is re-read for every attempt.
type BasicAuth struct {
	Username     string           `yaml:"username"`
	Password     commoncfg.Secret `yaml:"password,omitempty"`
	PasswordFile string           `yaml:"password_file,omitempty"`
}

// ReservedHeaders returns the header names, in canonical form, that the sink
// sets on every request and Config.Headers may therefore not set.
func ReservedHeaders() []string {
	return []string{"Content-Encoding", "Content-Type", "X-Prometheus-Remote-Write-Version", "User-Agent"}
}

// DefaultConfig returns a Config with every default filled in (no URL).
func DefaultConfig() Config {
	return Config{
		Timeout:           DefaultTimeout,
		MaxSamplesPerSend: DefaultMaxSamplesPerSend,
		Shards:            DefaultShards,
		MaxRetryAfter:     sinks.DefaultMaxRetryAfter,
		Metadata:          DefaultMetadataConfig(),
	}
}

// Validate reports the first problem with c, naming the YAML field. Errors
// never contain secrets; the URL is shown without credentials or query.
func (c *Config) Validate() error {
	if c.URL == "" {
		return errors.New("remotewrite: url: required")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return errors.New("remotewrite: url: cannot parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("remotewrite: url: scheme must be http or https, got %q", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("remotewrite: url: no host in %q", redactURL(u))
	}
	if u.User != nil {
		// As the HEC and Datadog sinks do: a password in the URL would be
		// shown wherever the URL is, and cannot come from a file.
		return errors.New("remotewrite: url: credentials in the URL are not allowed; use basic_auth")
	}
	if u.Fragment != "" || strings.HasSuffix(c.URL, "#") {
		return errors.New("remotewrite: url: a fragment (#...) is never sent; remove it")
	}
	for name := range c.Headers {
		if !validHeaderName(name) {
			return fmt.Errorf("remotewrite: headers: invalid header name %q", name)
		}
		canon := http.CanonicalHeaderKey(name)
		for _, r := range ReservedHeaders() {
			if canon == r {
				return fmt.Errorf("remotewrite: headers: %s is set by the remote-write protocol and cannot be overridden", r)
			}
		}
		if canon == "Authorization" && c.hasAuth() {
			return errors.New("remotewrite: headers: Authorization conflicts with bearer_token / basic_auth")
		}
	}
	if c.BearerToken != "" && c.BearerTokenFile != "" {
		return errors.New("remotewrite: bearer_token and bearer_token_file are mutually exclusive")
	}
	if c.BasicAuth != nil {
		if c.BearerToken != "" || c.BearerTokenFile != "" {
			return errors.New("remotewrite: basic_auth and bearer_token / bearer_token_file are mutually exclusive")
		}
		if c.BasicAuth.Username == "" {
			return errors.New("remotewrite: basic_auth.username: required")
		}
		if c.BasicAuth.Password != "" && c.BasicAuth.PasswordFile != "" {
			return errors.New("remotewrite: basic_auth: password and password_file are mutually exclusive")
		}
	}
	if err := c.TLS.Validate(); err != nil {
		return fmt.Errorf("remotewrite: tls: %w", err)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("remotewrite: timeout: must not be negative, got %s", c.Timeout)
	}
	if c.MaxSamplesPerSend < 1 {
		return fmt.Errorf("remotewrite: max_samples_per_send: must be at least 1, got %d", c.MaxSamplesPerSend)
	}
	if c.MaxRetryAfter < 0 {
		return fmt.Errorf("remotewrite: max_retry_after: must not be negative, got %s", c.MaxRetryAfter)
	}
	if c.Metadata.Send && c.Metadata.SendInterval <= 0 {
		return fmt.Errorf("remotewrite: metadata_config.send_interval: must be positive, got %s", c.Metadata.SendInterval)
	}
	if c.Metadata.Send && c.Metadata.MaxSamplesPerSend < 1 {
		return fmt.Errorf("remotewrite: metadata_config.max_samples_per_send: must be at least 1, got %d", c.Metadata.MaxSamplesPerSend)
	}
	if c.Shards < 1 || c.Shards > MaxShards {
		return fmt.Errorf("remotewrite: shards: must be between 1 and %d, got %d", MaxShards, c.Shards)
	}
	return nil
}

func (c *Config) hasAuth() bool {
	return c.BearerToken != "" || c.BearerTokenFile != "" || c.BasicAuth != nil
}

// validHeaderName accepts RFC 7230 tokens.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c < 0x80 && c > 0x20 && !isSeparator(c) && c != 0x7f:
		default:
			return false
		}
	}
	return true
}

func isSeparator(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', '{', '}':
		return true
	}
	return false
}

// redactURL drops user info and masks query values: both may carry
// credentials.
func redactURL(u *url.URL) string {
	return scrape.RedactURL(u.String())
}
