package datadog

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// Sites returns the Datadog sites the `site` key accepts; the intake is
// https://api.<site>/api/v2/series.
func Sites() []string {
	return []string{
		"datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu",
		"ap1.datadoghq.com", "ap2.datadoghq.com", "uk1.datadoghq.com",
		"ddog-gov.com", "us2.ddog-gov.com",
	}
}

// Compression names accepted by the `compression` key.
const (
	CompressionGzip    = "gzip"
	CompressionDeflate = "deflate" // zlib-wrapped, as Datadog expects
)

// Counter modes accepted by the `send_counters_as` key.
const (
	CountersAsDelta = "delta"
	CountersAsGauge = "gauge"
)

// Config is the `datadog` sink's configuration.
type Config struct {
	// Site selects the intake (one of Sites). Ignored when URL is set.
	Site string `yaml:"site,omitempty"`
	// URL overrides Site, for proxies and tests: the base URL to which
	// /api/v2/series is appended.
	URL string `yaml:"url,omitempty"`
	// APIKey is sent as DD-API-KEY. Exactly one of APIKey and APIKeyFile.
	APIKey commoncfg.Secret `yaml:"api_key,omitempty"`
	// APIKeyFile holds the API key; it is re-read when it changes.
	APIKeyFile string `yaml:"api_key_file,omitempty"`
	// Namespace, when set, prefixes every metric name ("<namespace>.<name>").
	Namespace string `yaml:"namespace,omitempty"`
	// Tags are added to every series ("key:value" or bare "value").
	Tags []string `yaml:"tags,omitempty"`
	// Host is sent as the series' host resource. Default os.Hostname().
	Host string `yaml:"host,omitempty"`
	// Compression is gzip (default) or deflate (zlib-wrapped).
	Compression string `yaml:"compression,omitempty"`
	// SendCountersAs is delta (default: count points of the change since
	// the previous scrape) or gauge (the cumulative value as a gauge).
	SendCountersAs string `yaml:"send_counters_as,omitempty"`
	// CounterStateTTL forgets a counter's last value when it has not been
	// seen for this long (wall clock). Default 1h.
	CounterStateTTL time.Duration `yaml:"counter_state_ttl,omitempty"`
	// Interval is the count interval sent when the spacing between two
	// observations of a counter is unknown. Default 60s.
	Interval time.Duration `yaml:"interval,omitempty"`
	// Timeout bounds one HTTP attempt. Default 30s.
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// TLS configures the client side of the connection.
	TLS commoncfg.TLSConfig `yaml:"tls,omitempty"`
	// MaxAuthHold bounds how long one request is retried while the intake
	// refuses the API key (401/403), so a key rotation loses nothing;
	// after it the request is dropped and counted. Default 10m.
	MaxAuthHold time.Duration `yaml:"max_auth_hold,omitempty"`
	// MaxRetryAfter caps the intake's Retry-After / X-RateLimit-Reset; a
	// longer wait is cut to it and logged. Default 5m.
	MaxRetryAfter time.Duration `yaml:"max_retry_after,omitempty"`
}

// DefaultConfig returns the defaults applied before a config is decoded.
func DefaultConfig() Config {
	return Config{
		Site:            "datadoghq.com",
		Compression:     CompressionGzip,
		SendCountersAs:  CountersAsDelta,
		CounterStateTTL: time.Hour,
		Interval:        60 * time.Second,
		Timeout:         30 * time.Second,
		MaxAuthHold:     sinks.DefaultMaxHold,
		MaxRetryAfter:   sinks.DefaultMaxRetryAfter,
	}
}

// UnmarshalYAML applies DefaultConfig, rejects unknown keys (naming their
// line) and decodes the node.
func (c *Config) UnmarshalYAML(value *yaml.Node) error {
	// Node.Decode does not inherit the outer decoder's KnownFields, so
	// strictness is checked here, with line numbers.
	if err := checkKnownFields(value, reflect.TypeFor[Config](), ""); err != nil {
		return err
	}
	*c = DefaultConfig()
	type plain Config
	return value.Decode((*plain)(c))
}

// checkKnownFields rejects mapping keys that are not yaml fields of t,
// recursing into struct-typed fields (tls).
func checkKnownFields(n *yaml.Node, t reflect.Type, prefix string) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = f.Type
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ft, ok := fields[k.Value]
		if !ok {
			return fmt.Errorf("line %d: field %s%s not found in datadog sink config", k.Line, prefix, k.Value)
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Duration]() {
			if err := checkKnownFields(v, ft, prefix+k.Value+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// Validate reports the first invalid field, by its yaml key.
func (c *Config) Validate() error {
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil {
			// *url.Error quotes the URL, whose query may hold a key.
			return fmt.Errorf("datadog: url: %w", sinks.RedactURLError(err))
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("datadog: url: %q is not an absolute http(s) URL", scrape.RedactURL(c.URL))
		}
		if u.User != nil {
			return errors.New("datadog: url: credentials in the URL are not allowed; use api_key")
		}
		if u.Fragment != "" || u.RawFragment != "" || strings.HasSuffix(c.URL, "#") {
			return errors.New("datadog: url: a fragment (#...) is never sent; remove it")
		}
	} else if !slices.Contains(Sites(), c.Site) {
		return fmt.Errorf("datadog: site: %q is not one of %s", c.Site, strings.Join(Sites(), ", "))
	}
	switch {
	case c.APIKey == "" && c.APIKeyFile == "":
		return errors.New("datadog: api_key or api_key_file is required")
	case c.APIKey != "" && c.APIKeyFile != "":
		return errors.New("datadog: api_key and api_key_file are mutually exclusive")
	}
	switch c.Compression {
	case CompressionGzip, CompressionDeflate:
	default:
		return fmt.Errorf("datadog: compression: %q is not gzip or deflate", c.Compression)
	}
	switch c.SendCountersAs {
	case CountersAsDelta, CountersAsGauge:
	default:
		return fmt.Errorf("datadog: send_counters_as: %q is not delta or gauge", c.SendCountersAs)
	}
	if c.CounterStateTTL <= 0 {
		return fmt.Errorf("datadog: counter_state_ttl: must be positive, got %s", c.CounterStateTTL)
	}
	if c.Interval < time.Second {
		return fmt.Errorf("datadog: interval: must be at least 1s, got %s", c.Interval)
	}
	if c.MaxAuthHold < 0 {
		return fmt.Errorf("datadog: max_auth_hold: must not be negative, got %s", c.MaxAuthHold)
	}
	if c.MaxRetryAfter < 0 {
		return fmt.Errorf("datadog: max_retry_after: must not be negative, got %s", c.MaxRetryAfter)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("datadog: timeout: must not be negative, got %s", c.Timeout)
	}
	for i, t := range c.Tags {
		if t == "" {
			return fmt.Errorf("datadog: tags[%d]: empty tag", i)
		}
	}
	if c.Namespace != "" && escapeName(c.Namespace) != c.Namespace {
		return fmt.Errorf("datadog: namespace: %q must start with a letter and use only letters, digits, _ and .", c.Namespace)
	}
	return nil
}

// String renders the config as YAML with secrets shown as <secret>, so a
// config printed with %v never reveals the API key.
func (c Config) String() string {
	b, err := yaml.Marshal(c)
	if err != nil {
		return "datadog config: " + err.Error()
	}
	return string(b)
}

// endpoint is the series intake URL: the API path joins the configured
// URL's path, before any query string (a proxy's ?api_key=... stays a query).
// Validate has checked that URL parses.
func (c *Config) endpoint() string {
	if c.URL == "" {
		return "https://api." + c.Site + seriesPath
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return ""
	}
	return u.JoinPath(seriesPath).String()
}

const seriesPath = "/api/v2/series"
