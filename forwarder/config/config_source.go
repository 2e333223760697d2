package config

import (
	"net/url"
	"slices"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/promfwd/promfwd/forwarder/transform/relabel"
)

// SourceConfig is one scrape target.
type SourceConfig struct {
	// Name identifies the source in logs and self-metrics and is the
	// default job label.
	Name string `yaml:"name"`
	// URL is http://, https:// or unix:///path/to.sock. A source has a
	// URL or discovers its targets (SDConfigs), not both.
	URL string `yaml:"url,omitempty"`
	// SDConfigs find the targets instead (sd.go): file_sd_configs,
	// http_sd_configs, ... Each discovered host:port is scraped as
	// Scheme://host:port/MetricsPath unless relabel_configs change that.
	SDConfigs `yaml:",inline"`
	// Scheme is http or https for discovered targets (default http).
	Scheme string `yaml:"scheme,omitempty"`
	// MetricsPath is the HTTP path for unix:// URLs and discovered targets
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
	// Params are URL query parameters added to every scrape (Prometheus'
	// params); relabel_configs see them as __param_<name>.
	Params url.Values `yaml:"params,omitempty"`
	// HonorLabels keeps exposed labels that clash with target labels
	// (Prometheus' honor_labels); false renames them exported_<name>.
	HonorLabels bool `yaml:"honor_labels"`
	// HonorTimestamps keeps the exposition's timestamps (default true).
	HonorTimestamps bool `yaml:"honor_timestamps"`
	// RelabelConfigs run on the target before it is scraped,
	// MetricRelabelConfigs on every sample after (Prometheus' own rules).
	RelabelConfigs       []*relabel.Config `yaml:"relabel_configs,omitempty"`
	MetricRelabelConfigs []*relabel.Config `yaml:"metric_relabel_configs,omitempty"`
	// TargetSeries sends up, scrape_duration_seconds, ... per target
	// (default true).
	TargetSeries bool `yaml:"target_series"`
	// Limits, with Prometheus' names; 0 means none. All but the body size
	// apply after metric relabeling and fail the scrape.
	BodySizeLimit         ByteSize `yaml:"body_size_limit"`
	SampleLimit           int      `yaml:"sample_limit"`
	LabelLimit            int      `yaml:"label_limit"`
	LabelNameLengthLimit  int      `yaml:"label_name_length_limit"`
	LabelValueLengthLimit int      `yaml:"label_value_length_limit"`
	// ScrapeProtocols is the Accept preference, Prometheus' key and names;
	// empty means Prometheus 3's default (scrape.DefaultScrapeProtocols).
	ScrapeProtocols []string `yaml:"scrape_protocols,omitempty"`
	// Sinks routes this source to the named sinks only; empty means all.
	Sinks []string `yaml:"sinks,omitempty"`
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
	if s.Discovers() {
		s.SDConfigs.fillDefaults(file)
		if s.Scheme == "" {
			s.Scheme = "http"
		}
		if s.MetricsPath == "" {
			s.MetricsPath = DefaultUnixMetricsPath
		}
	}
}

// setDefaults runs before a source's mapping is decoded, so an explicit
// `body_size_limit: 0` (no limit) or `target_series: false` is kept.
func (s *SourceConfig) setDefaults() {
	s.BodySizeLimit = DefaultBodyBytes
	s.HonorTimestamps = true
	s.TargetSeries = true
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
