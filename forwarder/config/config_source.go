package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/promfwd/promfwd/scrape"
)

// SourceConfig is one scrape target.
type SourceConfig struct {
	// Name identifies the source in logs and self-metrics and is the
	// default job label.
	Name string `yaml:"name"`
	// URL is http://, https:// or unix:///path/to.sock. Exactly one of
	// URL and FileSD.
	URL string `yaml:"url,omitempty"`
	// FileSD reads the targets from Prometheus file_sd files instead: one
	// target per listed host:port, scraped as Scheme://host:port/MetricsPath.
	FileSD *FileSDConfig `yaml:"file_sd,omitempty"`
	// Scheme is http or https for file_sd targets (default http).
	Scheme string `yaml:"scheme,omitempty"`
	// MetricsPath is the HTTP path for unix:// URLs and file_sd targets
	// (default /metrics).
	MetricsPath string `yaml:"metrics_path,omitempty"`
	// DockerPlugin pauses this source except between the Docker daemon's
	// StartMetrics and StopMetrics calls when promfwd runs as a Docker
	// metrics plugin (-docker-plugin). A source whose URL is
	// unix:///run/docker/metrics.sock is always treated so.
	DockerPlugin bool          `yaml:"docker_plugin,omitempty"`
	Interval     time.Duration `yaml:"interval"` // default global.scrape_interval
	Timeout      time.Duration `yaml:"timeout"`  // default global.scrape_timeout, capped at Interval

	BearerToken     commoncfg.Secret            `yaml:"bearer_token,omitempty"`
	BearerTokenFile string                      `yaml:"bearer_token_file,omitempty"`
	BasicAuth       *commoncfg.BasicAuth        `yaml:"basic_auth,omitempty"`
	Headers         map[string]commoncfg.Secret `yaml:"headers,omitempty"` // values may be credentials: always redacted
	TLS             commoncfg.TLSConfig         `yaml:"tls,omitempty"`
	ProxyURL        commoncfg.URL               `yaml:"proxy_url,omitempty"`
	// FollowRedirects is Prometheus' follow_redirects (default true).
	// Redirects never carry Referer, nor, once they leave the target's
	// scheme, host and port, credentials or custom headers.
	FollowRedirects *bool `yaml:"follow_redirects,omitempty"`

	// Labels are added to every sample; they may override the default
	// job=<name> and instance=<host:port>.
	Labels map[string]string `yaml:"labels,omitempty"`
	// MetricRelabel is applied in order to each metric name.
	MetricRelabel []RelabelRule `yaml:"metric_relabel,omitempty"`
	Limits        SourceLimits  `yaml:"limits"`
	// ScrapeProtocols is the Accept preference, Prometheus' key and names;
	// empty means Prometheus 3's default (scrape.DefaultScrapeProtocols).
	ScrapeProtocols []string `yaml:"scrape_protocols,omitempty"`
	// Sinks routes this source to the named sinks only; empty means all.
	Sinks []string `yaml:"sinks,omitempty"`
}

// SourceLimits fail a scrape that exceeds them; 0 means no limit.
type SourceLimits struct {
	BodyBytes        ByteSize `yaml:"body_bytes"`
	Samples          int      `yaml:"samples"`
	Labels           int      `yaml:"labels"`
	LabelNameLength  int      `yaml:"label_name_length"`
	LabelValueLength int      `yaml:"label_value_length"`
}

// Relabel actions.
const (
	RelabelKeep = "keep"
	RelabelDrop = "drop"
)

// RelabelRule keeps or drops metrics whose name matches Regex.
type RelabelRule struct {
	Action string `yaml:"action"` // keep or drop
	Regex  Regexp `yaml:"regex"`
}

// Regexp returns the rule's anchored, compiled expression.
func (r RelabelRule) Regexp() *regexp.Regexp { return r.Regex.Regexp }

// Regexp is a regular expression anchored at both ends, as in Prometheus
// relabelling: "go_.*" matches go_goroutines but not my_go_thing.
type Regexp struct {
	*regexp.Regexp
	src string
}

// NewRegexp compiles s anchored as ^(?:s)$.
func NewRegexp(s string) (Regexp, error) {
	if _, err := regexp.Compile(s); err != nil {
		return Regexp{}, err // the message quotes the user's pattern, not ours
	}
	re, err := regexp.Compile("^(?:" + s + ")$")
	if err != nil {
		return Regexp{}, err
	}
	return Regexp{Regexp: re, src: s}, nil
}

// String returns the pattern as written.
func (r Regexp) String() string { return r.src }

// UnmarshalYAML compiles the pattern.
func (r *Regexp) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	re, err := NewRegexp(s)
	if err != nil {
		return err
	}
	*r = re
	return nil
}

// MarshalYAML returns the pattern as written.
func (r Regexp) MarshalYAML() (any, error) { return r.src, nil }

// KeepMetric applies the source's metric_relabel rules to a metric name:
// false means the metric is dropped.
func (s *SourceConfig) KeepMetric(name string) bool {
	for _, r := range s.MetricRelabel {
		if r.Regex.Regexp == nil {
			continue
		}
		matched := r.Regex.MatchString(name)
		if (r.Action == RelabelDrop && matched) || (r.Action == RelabelKeep && !matched) {
			return false
		}
	}
	return true
}

// RoutesTo reports whether the source sends to the named sink.
func (s *SourceConfig) RoutesTo(sink string) bool {
	return len(s.Sinks) == 0 || slices.Contains(s.Sinks, sink)
}

func (s *SourceConfig) fillDefaults(g GlobalConfig, file string) {
	if s.Interval == 0 {
		s.Interval = g.ScrapeInterval
	}
	if s.Timeout == 0 {
		// As Prometheus does: the global timeout never exceeds a job's interval.
		s.Timeout = min(g.ScrapeTimeout, s.Interval)
	}
	if s.MetricsPath == "" && isUnixURL(s.URL) {
		s.MetricsPath = DefaultUnixMetricsPath
	}
	if s.FileSD != nil {
		s.FileSD.fillDefaults(file)
		if s.Scheme == "" {
			s.Scheme = "http"
		}
		if s.MetricsPath == "" {
			s.MetricsPath = DefaultUnixMetricsPath
		}
	}
}

// setDefaults runs before a source's mapping is decoded, so an explicit
// `body_bytes: 0` (no limit) is kept.
func (s *SourceConfig) setDefaults() {
	s.Limits = SourceLimits{BodyBytes: DefaultBodyBytes}
}

func isUnixURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "unix"
}

// HTTPClientConfig maps the source's auth, TLS, headers and proxy onto
// prometheus/common's client config, validated.
func (s *SourceConfig) HTTPClientConfig() (commoncfg.HTTPClientConfig, error) {
	h := commoncfg.DefaultHTTPClientConfig
	h.BearerToken = s.BearerToken
	h.BearerTokenFile = s.BearerTokenFile
	if s.BasicAuth != nil {
		ba := *s.BasicAuth
		h.BasicAuth = &ba
	}
	h.TLSConfig = s.TLS
	h.ProxyURL = s.ProxyURL
	if s.FollowRedirects != nil {
		h.FollowRedirects = *s.FollowRedirects
	}
	if len(s.Headers) > 0 {
		h.HTTPHeaders = &commoncfg.Headers{Headers: make(map[string]commoncfg.Header, len(s.Headers))}
		for name, v := range s.Headers {
			h.HTTPHeaders.Headers[name] = commoncfg.Header{Secrets: []commoncfg.Secret{v}}
		}
	}
	if err := h.Validate(); err != nil {
		return commoncfg.HTTPClientConfig{}, err
	}
	return h, nil
}

// TargetConfig is what package scrape needs to scrape this source.
// TargetLabels holds job=<name> and instance=<host:port> (the socket path
// for unix://) unless Labels overrides them, plus every other label, sorted.
func (s *SourceConfig) TargetConfig(userAgent string) (scrape.TargetConfig, error) {
	h, err := s.HTTPClientConfig()
	if err != nil {
		return scrape.TargetConfig{}, fmt.Errorf("source %s: %w", s.Name, err)
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return scrape.TargetConfig{}, fmt.Errorf("source %s: invalid url", s.Name)
	}
	instance := u.Host
	if u.Scheme == "unix" {
		instance = u.Path
	}
	labels := map[string]string{"job": s.Name, "instance": instance}
	for k, v := range s.Labels {
		labels[k] = v
	}
	tl := make(scrape.Labels, 0, len(labels))
	for _, k := range sortedStrings(labels) {
		tl = append(tl, scrape.Label{Name: k, Value: labels[k]})
	}
	return scrape.TargetConfig{
		Name:         s.Name,
		URL:          s.URL,
		MetricsPath:  s.MetricsPath,
		HTTP:         h,
		Timeout:      s.Timeout,
		MaxBodyBytes: int64(s.Limits.BodyBytes),
		Limits: scrape.Limits{
			MaxSamples:       s.Limits.Samples,
			MaxLabels:        s.Limits.Labels,
			MaxLabelNameLen:  s.Limits.LabelNameLength,
			MaxLabelValueLen: s.Limits.LabelValueLength,
		},
		TargetLabels:    tl,
		UserAgent:       userAgent,
		ScrapeProtocols: s.ScrapeProtocols,
	}, nil
}
