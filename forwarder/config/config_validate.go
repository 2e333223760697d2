package config

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/promfwd/promfwd/scrape"
)

// validator positions validation errors at the node a field path leads to
// (or its closest existing parent, for fields that were left out).
type validator struct {
	d    *decoder
	root *yaml.Node
}

// errAt reports msg at the field reached by keys (strings for mapping keys,
// ints for list indexes).
func (v validator) errAt(msg string, keys ...any) error {
	n, path := v.root, ""
	found := true
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			path = joinPath(path, k)
		case int:
			path = indexPath(path, k)
		}
		if !found {
			continue
		}
		if next := child(n, k); next != nil {
			n = next
		} else {
			found = false
		}
	}
	return v.d.errf(n, path, "%s", msg)
}

// child returns the value under a mapping key or list index, or nil.
func child(n *yaml.Node, key any) *yaml.Node {
	n = resolveAlias(n)
	switch k := key.(type) {
	case string:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if resolveAlias(n.Content[i]).Value == k {
					return resolveAlias(n.Content[i+1])
				}
			}
		}
	case int:
		if n.Kind == yaml.SequenceNode && k < len(n.Content) {
			return resolveAlias(n.Content[k])
		}
	}
	return nil
}

// validName checks source and sink names: they become metric label values
// and file names under data_dir.
func validName(s string) error {
	if s == "" {
		return fmt.Errorf("name is required")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("invalid name %q: use only letters, digits, '_', '.' and '-'", s)
		}
	}
	if s == "." || s == ".." {
		return fmt.Errorf("invalid name %q", s)
	}
	return nil
}

func (c *Config) validate(d *decoder, root *yaml.Node) error {
	v := validator{d: d, root: root}
	var errs collect // every problem, reported at once
	c.noteDataDir(d, root)
	if c.ShutdownTimeout <= 0 {
		errs.add(v.errAt("must be greater than 0", "shutdown_timeout"))
	}
	if c.Server.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Server.Listen); err != nil || port == "" {
			errs.add(v.errAt(fmt.Sprintf("invalid listen address %q: want host:port, or \"\" to disable", c.Server.Listen), "server", "listen"))
		}
	}
	if err := c.Server.checkWebConfig(d.file); err != nil { // webconfig.go
		return v.errAt(err.Error(), "server", "web_config_file")
	}
	if c.Global.ScrapeInterval < time.Second {
		errs.add(v.errAt("must be at least 1s", "global", "scrape_interval"))
	}
	if c.Global.ScrapeTimeout <= 0 {
		errs.add(v.errAt("must be greater than 0", "global", "scrape_timeout"))
	}
	if c.Dedupe.Enabled && c.Dedupe.ResendAfter <= 0 {
		errs.add(v.errAt("must be greater than 0 when dedupe is enabled", "dedupe", "resend_after"))
	}
	if len(c.Sources) == 0 {
		errs.add(v.errAt("at least one source is required", "sources"))
	}
	if len(c.Sinks) == 0 {
		errs.add(v.errAt("at least one sink is required", "sinks"))
	}
	sinkNames := map[string]int{}
	for i, s := range c.Sinks {
		if err := validName(s.Name); err != nil {
			errs.add(v.errAt(err.Error(), "sinks", i, "name"))
		}
		if prev, dup := sinkNames[s.Name]; dup {
			errs.add(v.errAt(fmt.Sprintf("duplicate sink name %q (also sinks[%d])", s.Name, prev), "sinks", i, "name"))
		}
		sinkNames[s.Name] = i
		errs.add(validateRunner(v, i, &c.Sinks[i]))
		errs.add(validateAggregate(v, i, &c.Sinks[i])) // config_aggregate.go
	}
	sourceNames := map[string]int{}
	for i := range c.Sources {
		s := &c.Sources[i]
		if prev, dup := sourceNames[s.Name]; dup && s.Name != "" {
			errs.add(v.errAt(fmt.Sprintf("duplicate source name %q (also sources[%d])", s.Name, prev), "sources", i, "name"))
		}
		sourceNames[s.Name] = i
		errs.add(s.validate(v, i, sinkNames))
	}
	errs.add(c.validateBounds(v)) // config_bounds.go
	return errs.err()
}

func validateRunner(v validator, i int, s *SinkConfig) error {
	r := s.Runner
	var errs collect
	for _, f := range []struct {
		key string
		bad bool
	}{
		{"max_batch_samples", r.MaxBatchSamples < 0},
		{"flush_interval", r.FlushInterval < 0},
		{"max_pending_samples", r.MaxPendingSamples < 0},
		{"max_queue_bytes", r.MaxQueueBytes < 0},
		{"concurrency", r.Concurrency < 0},
		{"resend_after", s.ResendAfter != nil && *s.ResendAfter < 0},
	} {
		if f.bad {
			errs.add(v.errAt("must not be negative", "sinks", i, f.key))
		}
	}
	if r.RetryWaitMax != 0 && r.RetryWaitMax < time.Second {
		errs.add(v.errAt("must be at least 1s", "sinks", i, "max_backoff"))
	}
	errs.add(validateRules(func(msg string, keys ...any) error {
		return v.errAt(msg, append([]any{"sinks", i}, keys...)...)
	}, "write_relabel_configs", s.WriteRelabelConfigs))
	return errs.err()
}

func (s *SourceConfig) validate(v validator, i int, sinkNames map[string]int) error {
	at := func(msg string, keys ...any) error {
		return v.errAt(msg, append([]any{"sources", i}, keys...)...)
	}
	var errs collect
	if err := validName(s.Name); err != nil {
		errs.add(at(err.Error(), "name"))
	}
	if s.Discovers() {
		errs.add(s.validateSD(at))
	} else {
		if err := validateSourceURL(s.URL); err != nil {
			errs.add(at(err.Error(), "url"))
		}
		if s.Scheme != "" {
			errs.add(at("scheme is only used with *_sd_configs; put it in url", "scheme"))
		}
		if s.MetricsPath != "" && !isUnixURL(s.URL) {
			errs.add(at("metrics_path is only used with unix:// URLs and *_sd_configs; put the path in url", "metrics_path"))
		}
	}
	if s.MetricsPath != "" && !strings.HasPrefix(s.MetricsPath, "/") {
		errs.add(at("must start with /", "metrics_path"))
	}
	if s.Interval < time.Second {
		errs.add(at("must be at least 1s", "interval"))
	}
	if s.Timeout <= 0 {
		errs.add(at("must be greater than 0", "timeout"))
	} else if s.Timeout > s.Interval && s.Interval >= time.Second {
		errs.add(at(fmt.Sprintf("timeout %s must not exceed interval %s", model.Duration(s.Timeout), model.Duration(s.Interval)), "timeout"))
	}
	if s.BearerToken != "" && s.BearerTokenFile != "" {
		errs.add(at("set bearer_token or bearer_token_file, not both", "bearer_token_file"))
	}
	if ba := s.BasicAuth; ba != nil && (ba.UsernameRef != "" || ba.PasswordRef != "") {
		errs.add(at("username_ref and password_ref are not supported; use username_file or password_file", "basic_auth"))
	}
	if s.TLS.CARef != "" || s.TLS.CertRef != "" || s.TLS.KeyRef != "" {
		errs.add(at("ca_ref, cert_ref and key_ref are not supported; use ca_file, cert_file and key_file", "tls"))
	}
	if len(errs.errs) == 0 { // prometheus/common's check repeats the ones above in its own words
		if _, err := s.HTTPClientConfig(); err != nil {
			errs.add(at(err.Error()))
		}
	}
	errs.add(s.validateSamples(at))
	errs.add(s.validateRoutes(at, sinkNames))
	if !s.Discovers() && len(errs.errs) == 0 {
		// A static target is known now: what its relabel_configs leave
		// must be scrapable (a dropped target is fine).
		if _, err := s.Target(); err != nil {
			errs.add(at("target after relabel_configs: "+err.Error(), "relabel_configs"))
		}
	}
	return errs.err()
}

// validateSamples checks what the source does to its target and samples:
// added labels, relabel rules and limits.
func (s *SourceConfig) validateSamples(at func(msg string, keys ...any) error) error {
	var errs collect
	for _, name := range sortedStrings(s.Labels) {
		if !model.LegacyValidation.IsValidLabelName(name) || strings.HasPrefix(name, "__") {
			errs.add(at(fmt.Sprintf("invalid label name %q: want [a-zA-Z_][a-zA-Z0-9_]* not starting with __", name), "labels", name))
		}
		if !utf8.ValidString(s.Labels[name]) {
			errs.add(at("label value is not valid UTF-8", "labels", name))
		}
	}
	errs.add(validateRules(at, "metric_relabel_configs", s.MetricRelabelConfigs))
	errs.add(validateRules(at, "relabel_configs", s.RelabelConfigs))
	for _, f := range []struct {
		key string
		n   int64
	}{
		{"body_size_limit", int64(s.BodySizeLimit)}, {"sample_limit", int64(s.SampleLimit)}, {"label_limit", int64(s.LabelLimit)},
		{"label_name_length_limit", int64(s.LabelNameLengthLimit)}, {"label_value_length_limit", int64(s.LabelValueLengthLimit)},
	} {
		if f.n < 0 {
			errs.add(at("must not be negative", f.key))
		}
	}
	if s.ScrapeProtocols != nil {
		if err := scrape.ValidateScrapeProtocols(s.ScrapeProtocols); err != nil {
			errs.add(at(err.Error(), "scrape_protocols"))
		}
	}
	return errs.err()
}

// validateRoutes checks the source's sinks: defined, each listed once.
func (s *SourceConfig) validateRoutes(at func(msg string, keys ...any) error, sinkNames map[string]int) error {
	var errs collect
	seen := map[string]bool{}
	for j, name := range s.Sinks {
		if _, ok := sinkNames[name]; !ok {
			errs.add(at(fmt.Sprintf("unknown sink %q (defined sinks: %s)", name, strings.Join(sortedStrings(sinkNames), ", ")), "sinks", j))
		}
		if seen[name] {
			errs.add(at(fmt.Sprintf("sink %q listed twice", name), "sinks", j))
		}
		seen[name] = true
	}
	return errs.err()
}

// validateSourceURL accepts http(s)://host[:port]/path and unix:///abs/path.
// Messages never quote the URL: it may carry a token in its query.
func validateSourceURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("url is required")
	}
	if !strings.Contains(raw, "://") {
		return fmt.Errorf("url has no scheme: start it with http://, https:// or unix://")
	}
	u, err := url.Parse(raw)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return fmt.Errorf("invalid url: %v", err)
	}
	if u.User != nil {
		return fmt.Errorf("credentials in the url are not allowed; use basic_auth")
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return fmt.Errorf("url has a fragment (#...), which is never sent to the target; remove it")
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return fmt.Errorf("url has no host")
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("url has an invalid port")
			}
		}
	case "unix":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return fmt.Errorf("unix url needs an absolute socket path: unix:///path/to.sock")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("unix url takes no query or fragment; set metrics_path")
		}
	default:
		return fmt.Errorf("unsupported url scheme %q: want http, https or unix", u.Scheme)
	}
	return nil
}

func sortedStrings[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
