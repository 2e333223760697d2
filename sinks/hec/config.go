package hec

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/promfwd/promfwd/sinks"
)

// Config is the `hec` sink's configuration.
type Config struct {
	// URL is the HEC base URL, e.g. https://splunk.example.com:8088. A
	// trailing /services/collector, /services/collector/event or
	// /services/collector/event/1.0 is accepted and stripped (what precedes
	// it is kept as a proxy prefix); any other path, /raw included, is an
	// error.
	URL string `yaml:"url"`
	// Token is the HEC token. Exactly one of Token and TokenFile.
	Token commoncfg.Secret `yaml:"token,omitempty"`
	// TokenFile holds the token; it is re-read when the file changes.
	TokenFile string `yaml:"token_file,omitempty"`
	// Index, Source and SourceType are set on every event when not empty
	// (otherwise the token's defaults apply).
	Index      string `yaml:"index,omitempty"`
	Source     string `yaml:"source,omitempty"`
	SourceType string `yaml:"sourcetype,omitempty"`
	// Host is set on every event. Default os.Hostname().
	Host string `yaml:"host,omitempty"`
	// MultiMetric packs samples that share a timestamp and dimensions into
	// one event with several "metric_name:<name>" fields (Splunk 8.0+).
	MultiMetric bool `yaml:"multi_metric"`
	// Gzip compresses request bodies. Default true.
	Gzip bool `yaml:"gzip"`
	// MaxRequestBytes bounds one request's uncompressed body. Default 1 MiB.
	MaxRequestBytes sinks.ByteSize `yaml:"max_request_bytes"`
	// MaxEvents bounds the events in one request. Default 10000; 0 means
	// no bound besides MaxRequestBytes.
	MaxEvents int `yaml:"max_events"`
	// Timeout bounds one HTTP attempt. Default 30s.
	Timeout model.Duration `yaml:"timeout"`
	// TLS configures the client side of the connection.
	TLS commoncfg.TLSConfig `yaml:"tls,omitempty"`
	// Ack configures indexer acknowledgement.
	Ack AckConfig `yaml:"ack"`
	// MaxAuthHold bounds how long one request is retried while HEC
	// refuses the token (401/403), so a token rotation loses nothing;
	// after it the request is dropped and counted. Default 10m.
	MaxAuthHold model.Duration `yaml:"max_auth_hold"`
	// MaxRetryAfter caps HEC's Retry-After; a longer wait is cut to it
	// and logged. Default 5m.
	MaxRetryAfter model.Duration `yaml:"max_retry_after"`
}

// AckConfig configures indexer acknowledgement (the token must have useACK).
type AckConfig struct {
	// Enabled makes a request count as delivered only once its ackId is
	// confirmed.
	Enabled bool `yaml:"enabled"`
	// PollInterval is how often outstanding ackIds are polled. Default 1s.
	PollInterval model.Duration `yaml:"poll_interval"`
	// Timeout is how long a request waits for its ack before it is posted
	// again (an at-least-once duplicate). Default 2m.
	Timeout model.Duration `yaml:"timeout"`
	// MaxOutstanding bounds the requests posted and waiting for their ack
	// at once (the sink runs that many senders, or `concurrency` if
	// larger). One poll asks about all of them. Default (and 0) 64.
	MaxOutstanding int `yaml:"max_outstanding"`
}

// DefaultMaxOutstanding is ack.max_outstanding's default; MaxOutstanding
// bounds it.
const (
	DefaultMaxOutstanding = 64
	MaxOutstanding        = 1024
)

// DefaultMaxRequestBytes is the default uncompressed request bound; Splunk
// Cloud's max_content_length is commonly 1 MB.
const DefaultMaxRequestBytes = 1 << 20

// minRequestBytes keeps max_request_bytes large enough for any sane event.
const minRequestBytes = 1024

// DefaultConfig returns the defaults applied before a config is decoded.
func DefaultConfig() Config {
	return Config{
		Gzip:            true,
		MaxRequestBytes: DefaultMaxRequestBytes,
		MaxEvents:       10000,
		Timeout:         model.Duration(30 * time.Second),
		MaxAuthHold:     model.Duration(sinks.DefaultMaxHold),
		MaxRetryAfter:   model.Duration(sinks.DefaultMaxRetryAfter),
		Ack: AckConfig{
			PollInterval:   model.Duration(time.Second),
			Timeout:        model.Duration(2 * time.Minute),
			MaxOutstanding: DefaultMaxOutstanding,
		},
	}
}

// UnmarshalYAML applies DefaultConfig, rejects unknown keys (naming their
// line) and decodes the node.
func (c *Config) UnmarshalYAML(value *yaml.Node) error {
	// Node.Decode does not inherit the outer decoder's KnownFields, so
	// strictness is checked here.
	if err := checkKnownFields(value, reflect.TypeFor[Config](), ""); err != nil {
		return err
	}
	*c = DefaultConfig()
	type plain Config
	if err := value.Decode((*plain)(c)); err != nil {
		return fmt.Errorf("hec sink config: %w", err)
	}
	return nil
}

// checkKnownFields rejects mapping keys that are not yaml fields of t,
// recursing into the ack block.
func checkKnownFields(n *yaml.Node, t reflect.Type, prefix string) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = f.Type
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ft, ok := fields[k.Value]
		if !ok {
			return fmt.Errorf("line %d: field %s%s not found in hec sink config", k.Line, prefix, k.Value)
		}
		if ft == reflect.TypeFor[AckConfig]() {
			if err := checkKnownFields(v, ft, prefix+k.Value+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// Validate checks the config; each message names the offending key.
func (c *Config) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("url: required"))
	} else if _, err := baseURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	switch {
	case c.Token != "" && c.TokenFile != "":
		errs = append(errs, errors.New("token, token_file: set only one"))
	case c.Token == "" && c.TokenFile == "":
		errs = append(errs, errors.New("token: one of token or token_file is required"))
	}
	if c.MaxRequestBytes < minRequestBytes {
		errs = append(errs, fmt.Errorf("max_request_bytes: %d is below the minimum %d", c.MaxRequestBytes, minRequestBytes))
	}
	if c.MaxEvents < 0 {
		errs = append(errs, fmt.Errorf("max_events: %d is negative", c.MaxEvents))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: %s must be positive", c.Timeout))
	}
	if c.MaxAuthHold <= 0 {
		errs = append(errs, fmt.Errorf("max_auth_hold: %s must be positive", c.MaxAuthHold))
	}
	if c.MaxRetryAfter <= 0 {
		errs = append(errs, fmt.Errorf("max_retry_after: %s must be positive", c.MaxRetryAfter))
	}
	if err := c.TLS.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("tls: %w", err))
	}
	if c.Ack.Enabled {
		if c.Ack.PollInterval <= 0 {
			errs = append(errs, fmt.Errorf("ack.poll_interval: %s must be positive", c.Ack.PollInterval))
		}
		if c.Ack.MaxOutstanding < 0 || c.Ack.MaxOutstanding > MaxOutstanding {
			errs = append(errs, fmt.Errorf("ack.max_outstanding: %d must be between 1 and %d (0 for the default)", c.Ack.MaxOutstanding, MaxOutstanding))
		}
		if c.Ack.Timeout <= c.Ack.PollInterval {
			errs = append(errs, fmt.Errorf("ack.timeout: %s must exceed ack.poll_interval %s", c.Ack.Timeout, c.Ack.PollInterval))
		}
	}
	for _, kv := range [...][2]string{{"host", c.Host}, {"source", c.Source}, {"sourcetype", c.SourceType}, {"index", c.Index}} {
		if strings.ContainsFunc(kv[1], func(r rune) bool { return r < 0x20 }) {
			errs = append(errs, fmt.Errorf("%s: %q contains control characters", kv[0], kv[1]))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("hec sink config: %w", errors.Join(errs...))
	}
	return nil
}

// baseURL parses the configured URL and strips a trailing collector path,
// so both https://h:8088 and https://h:8088/services/collector work.
func baseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// *url.Error quotes the input, which may hold a query secret.
		return nil, fmt.Errorf("url: %w", sinks.RedactURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url: scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("url: missing host")
	}
	if u.User != nil {
		return nil, errors.New("url: credentials in the URL are not supported; use token or token_file")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("url: query and fragment are not supported")
	}
	p, err := collectorPrefix(u.Path)
	if err != nil {
		return nil, err
	}
	u.Path = p
	u.RawPath = ""
	return u, nil
}

// collectorPaths are the documented HEC event endpoints a URL may end in;
// each posts the same JSON events promfwd sends.
var collectorPaths = []string{"/services/collector/event/1.0", "/services/collector/event", "/services/collector"}

// collectorPrefix returns the part of path before a documented collector
// endpoint (a reverse proxy's prefix, usually empty). Any other path is an
// error: promfwd appends /services/collector itself, so a raw or mistyped
// endpoint would turn into a URL that answers 404 to every batch.
func collectorPrefix(path string) (string, error) {
	p := strings.TrimRight(path, "/")
	if p == "" {
		return "", nil
	}
	for _, c := range collectorPaths {
		if q, ok := strings.CutSuffix(p, c); ok {
			return strings.TrimRight(q, "/"), nil
		}
	}
	if strings.HasSuffix(p, "/services/collector/raw") || strings.HasSuffix(p, "/services/collector/raw/1.0") {
		return "", fmt.Errorf("url: path %q is HEC's raw endpoint, which takes unstructured text; promfwd sends JSON metric events: use the base URL or /services/collector", path)
	}
	return "", fmt.Errorf("url: path %q is not an HEC event endpoint; use the base URL (https://host:8088) or one of %s", path, strings.Join(collectorPaths, ", "))
}
