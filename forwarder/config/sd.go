package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery"
	promconsul "github.com/prometheus/prometheus/discovery/consul"
	promdns "github.com/prometheus/prometheus/discovery/dns"
	promhttp "github.com/prometheus/prometheus/discovery/http"
	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// SDConfigs are a source's service discovery configs, with Prometheus' keys
// and types: the targets of every config are scraped, each with the
// __meta_* labels its mechanism sets, through the source's relabel_configs.
// A source has either a url or at least one of these.
//
// A mechanism plugs in by adding a field here (or in an inlined struct of
// its own file, as KubernetesSD does) and listing its configs in
// Discoverers; the runner (package forwarder) needs nothing else.
type SDConfigs struct {
	FileSDConfigs   []*FileSDConfig        `yaml:"file_sd_configs,omitempty"`
	HTTPSDConfigs   []*promhttp.SDConfig   `yaml:"http_sd_configs,omitempty"`
	DNSSDConfigs    []*promdns.SDConfig    `yaml:"dns_sd_configs,omitempty"`
	ConsulSDConfigs []*promconsul.SDConfig `yaml:"consul_sd_configs,omitempty"`
	KubernetesSD    `yaml:",inline"`       // sd_kubernetes.go
}

// Discoverers lists the configs run by Prometheus' discovery code (every
// mechanism but file_sd, which promfwd reads itself), in a stable order:
// the order of the keys above, then of the list items.
func (c *SDConfigs) Discoverers() []discovery.Config {
	var out []discovery.Config
	out = appendConfigs(out, c.HTTPSDConfigs)
	out = appendConfigs(out, c.DNSSDConfigs)
	out = appendConfigs(out, c.ConsulSDConfigs)
	return append(out, c.KubernetesSD.discoverers()...)
}

// appendConfigs appends the items of a *_sd_configs list, leaving out
// the nil ones an item that failed to decode leaves (its error is
// reported).
func appendConfigs[T any, P interface {
	*T
	discovery.Config
}](out []discovery.Config, items []P) []discovery.Config {
	for _, x := range items {
		if x != nil {
			out = append(out, x)
		}
	}
	return out
}

// Discovers reports whether the source's targets come from discovery
// (an item that failed to decode counts: the source is not "missing a
// url").
func (c *SDConfigs) Discovers() bool {
	return len(c.FileSDConfigs)+len(c.HTTPSDConfigs)+len(c.DNSSDConfigs)+len(c.ConsulSDConfigs)+len(c.KubernetesSDConfigs) > 0
}

// Mechanisms names the mechanisms in use ("file_sd", "http_sd", ...), in
// key order, for the status pages.
func (c *SDConfigs) Mechanisms() []string {
	var out []string
	if len(c.FileSDConfigs) > 0 {
		out = append(out, "file_sd")
	}
	seen := map[string]bool{}
	for _, d := range c.Discoverers() {
		if n := d.Name() + "_sd"; !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// MinFileSDRefresh is the shortest refresh_interval of the file_sd
// configs (0 without any): promfwd re-reads all of a source's files then.
func (c *SDConfigs) MinFileSDRefresh() time.Duration {
	var m time.Duration
	for _, f := range c.FileSDConfigs {
		if f != nil && (m == 0 || f.RefreshInterval < m) {
			m = f.RefreshInterval
		}
	}
	return m
}

func (c *SDConfigs) fillDefaults(configFile string) {
	for _, f := range c.FileSDConfigs {
		if f != nil {
			f.fillDefaults(configFile)
		}
	}
	for _, cc := range c.ConsulSDConfigs {
		// Prometheus' UnmarshalYAML copies username/password into
		// basic_auth (refusing both); keep only basic_auth so the
		// rendered config (promfwd check, /config) loads back.
		if cc != nil && (cc.Username != "" || cc.Password != "") && cc.HTTPClientConfig.BasicAuth != nil {
			cc.Username, cc.Password = "", ""
		}
	}
	if configFile == "" || strings.HasPrefix(configFile, "<") {
		return
	}
	dir := filepath.Dir(configFile)
	for _, d := range c.Discoverers() {
		if ds, ok := d.(commoncfg.DirectorySetter); ok {
			ds.SetDirectory(dir) // token, CA and key files relative to the config
		}
	}
}

// minSDRefresh bounds refresh_interval: a discovery server polled more
// often than this is hammered for nothing.
const minSDRefresh = time.Second

// validateSD checks what Prometheus' own UnmarshalYAML (run while decoding)
// leaves to the caller: the source's shape, and intervals.
func (s *SourceConfig) validateSD(at func(msg string, keys ...any) error) error {
	if s.URL != "" {
		return at("set url or *_sd_configs, not both", "url")
	}
	if s.DockerPlugin {
		return at("docker_plugin sources scrape the daemon's socket; they take a url, not *_sd_configs", "docker_plugin")
	}
	var errs collect
	for j, c := range s.FileSDConfigs {
		if c == nil {
			continue // its decoding error is reported
		}
		errs.add(c.validate(func(msg string, keys ...any) error {
			return at(msg, append([]any{"file_sd_configs", j}, keys...)...)
		}))
	}
	refresh := func(key string, j int, d model.Duration) {
		if time.Duration(d) < minSDRefresh {
			errs.add(at(fmt.Sprintf("must be at least %s", minSDRefresh), key, j, "refresh_interval"))
		}
	}
	for j, c := range s.HTTPSDConfigs {
		if c == nil {
			continue
		}
		refresh("http_sd_configs", j, c.RefreshInterval)
	}
	for j, c := range s.DNSSDConfigs {
		if c == nil {
			continue
		}
		refresh("dns_sd_configs", j, c.RefreshInterval)
		for k, n := range c.Names {
			if strings.TrimSpace(n) == "" {
				errs.add(at("empty name", "dns_sd_configs", j, "names", k))
			}
		}
		if strings.ToUpper(c.Type) != "SRV" && (c.Port < 1 || c.Port > 65535) {
			errs.add(at(fmt.Sprintf("port %d: want 1..65535", c.Port), "dns_sd_configs", j, "port"))
		}
	}
	for j, c := range s.ConsulSDConfigs {
		if c == nil {
			continue
		}
		if c.RefreshInterval != 0 {
			refresh("consul_sd_configs", j, c.RefreshInterval)
		}
		if c.Scheme != "http" && c.Scheme != "https" {
			errs.add(at(fmt.Sprintf("invalid scheme %q: want http or https", c.Scheme), "consul_sd_configs", j, "scheme"))
		}
	}
	errs.add(s.KubernetesSD.validate(at))
	if s.Scheme != "http" && s.Scheme != "https" {
		errs.add(at(fmt.Sprintf("invalid scheme %q: want http or https", s.Scheme), "scheme"))
	}
	return errs.err()
}

// GroupsFromDiscovery turns Prometheus target groups into promfwd's: each
// target keeps its own labels (__address__ and the mechanism's __meta_*),
// the group's labels apply to all of its targets. Targets without an
// __address__ are left out (Prometheus drops them too).
func GroupsFromDiscovery(tgs []*targetgroup.Group) []TargetGroup {
	out := make([]TargetGroup, 0, len(tgs))
	for _, tg := range tgs {
		if tg == nil || len(tg.Targets) == 0 {
			continue
		}
		g := TargetGroup{Source: tg.Source, Labels: make(map[string]string, len(tg.Labels))}
		for k, v := range tg.Labels {
			g.Labels[string(k)] = string(v)
		}
		for _, t := range tg.Targets {
			addr := string(t[model.AddressLabel])
			if addr == "" {
				continue
			}
			m := make(map[string]string, len(t))
			for k, v := range t {
				m[string(k)] = string(v)
			}
			g.Targets = append(g.Targets, addr)
			g.TargetLabels = append(g.TargetLabels, m)
		}
		out = append(out, g)
	}
	return out
}
