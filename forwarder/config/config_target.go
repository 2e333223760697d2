package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"

	"github.com/promfwd/promfwd/forwarder/transform/relabel"
	"github.com/promfwd/promfwd/scrape"
)

// ErrTargetDropped is returned by TargetConfig for a source whose
// relabel_configs drop its target: it is not scraped.
var ErrTargetDropped = errors.New("target dropped by relabel_configs")

// Target runs the source's relabel_configs on its (static url) target, as
// Prometheus does before a scrape: the url gives __address__ (the socket
// path for unix://), __scheme__, __metrics_path__ and __param_<name> (its
// query, then params), the source gives job, __scrape_interval__,
// __scrape_timeout__ and its labels. It returns nil, nil when a rule drops
// the target.
func (s *SourceConfig) Target() (*relabel.Target, error) {
	u, err := url.Parse(s.URL)
	if err != nil {
		return nil, errors.New("invalid url")
	}
	d := relabel.TargetDefaults{Job: s.Name, Interval: s.Interval, Timeout: s.Timeout,
		Scheme: u.Scheme, MetricsPath: u.Path, Params: s.params(u)}
	addr := u.Host
	if u.Scheme == relabel.SchemeUnix {
		addr, d.MetricsPath = u.Path, s.MetricsPath
	}
	return relabel.PopulateTarget(d, map[string]string{"__address__": addr}, s.Labels, s.RelabelConfigs)
}

// params merges the url's query with the params key (params win).
func (s *SourceConfig) params(u *url.URL) url.Values {
	p := u.Query()
	maps.Copy(p, s.Params)
	return p
}

// ScrapeLimits are the limits applied after metric relabeling.
func (s *SourceConfig) ScrapeLimits() scrape.Limits {
	return scrape.Limits{MaxSamples: s.SampleLimit, MaxLabels: s.LabelLimit,
		MaxLabelNameLen: s.LabelNameLengthLimit, MaxLabelValueLen: s.LabelValueLengthLimit}
}

// TargetConfig is what package scrape needs to scrape this source, after
// relabel_configs: the URL (unchanged, credentials included, unless the
// rules moved the target), the timeout, and the target labels (job,
// instance, labels and whatever the rules added; never a __ label). It
// returns ErrTargetDropped when the rules drop the target. Limits other
// than the body size are applied after metric relabeling, not by the
// parser (ScrapeLimits).
func (s *SourceConfig) TargetConfig(userAgent string) (scrape.TargetConfig, *relabel.Target, error) {
	h, err := s.HTTPClientConfig()
	if err != nil {
		return scrape.TargetConfig{}, nil, fmt.Errorf("source %s: %w", s.Name, err)
	}
	t, err := s.Target()
	if err != nil {
		return scrape.TargetConfig{}, nil, fmt.Errorf("source %s: relabel_configs: %w", s.Name, err)
	}
	if t == nil {
		return scrape.TargetConfig{}, nil, ErrTargetDropped
	}
	raw, path := s.URL, s.MetricsPath
	if moved, p := s.moved(t); moved {
		raw, path = movedURL(s.URL, t), p
	}
	return scrape.TargetConfig{
		Name:             s.Name,
		URL:              raw,
		MetricsPath:      path,
		HTTP:             h,
		Timeout:          t.Timeout,
		MaxBodyBytes:     int64(s.BodySizeLimit),
		TargetLabels:     t.Labels,
		HonorLabels:      s.HonorLabels,
		IgnoreTimestamps: !s.HonorTimestamps,
		UserAgent:        userAgent,
		ScrapeProtocols:  s.ScrapeProtocols,
	}, t, nil
}

// moved reports whether the rules changed where the target is scraped, and
// the metrics path for a unix socket.
func (s *SourceConfig) moved(t *relabel.Target) (bool, string) {
	u, _ := url.Parse(s.URL) // Target parsed it
	if u.Scheme == relabel.SchemeUnix {
		return t.Scheme != u.Scheme || t.Address != u.Path || t.Path != s.MetricsPath, t.Path
	}
	// params that are not in the url yet move it too.
	return len(s.Params) > 0 || t.Scheme != u.Scheme || t.Address != u.Host || t.Path != u.Path || !equalValues(t.Params, u.Query()),
		s.MetricsPath
}

// movedURL is the target's URL with the credentials of the configured one.
func movedURL(orig string, t *relabel.Target) string {
	u, _ := url.Parse(t.URL())
	if o, err := url.Parse(orig); err == nil && o.User != nil && t.Scheme != relabel.SchemeUnix {
		u.User = o.User
	}
	return u.String()
}

func equalValues(a, b url.Values) bool {
	return maps.EqualFunc(a, b, slices.Equal)
}

// validateRules checks a list of relabel rules under key as Prometheus does
// (relabel.Validate), then, for rules that run on samples (not
// relabel_configs, which see targets: no __name__, le or quantile there),
// for rules Prometheus accepts but that can only make samples promfwd must
// drop (relabel.Conflicts). The error points at the rule's field.
func validateRules(at func(msg string, keys ...any) error, key string, rules []*relabel.Config) error {
	var errs []error
	if key != "relabel_configs" {
		errs = relabel.Conflicts(rules)
	}
	if err := relabel.Validate(rules); err != nil {
		errs = append([]error{err}, errs...)
	}
	for _, err := range errs {
		var re *relabel.RuleError
		if errors.As(err, &re) {
			keys := []any{key, re.Index}
			if re.Field != "" {
				keys = append(keys, re.Field)
			}
			return at(re.Msg, keys...)
		}
		return at(err.Error(), key)
	}
	return nil
}
