package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/promfwd/promfwd/forwarder/transform/relabel"
)

// DefaultFileSDRefresh is how often file_sd files are checked for changes,
// as in Prometheus.
const DefaultFileSDRefresh = 5 * time.Minute

// maxFileSDBytes bounds one file_sd file.
const maxFileSDBytes = 16 << 20

// FileSDConfig reads a source's targets from Prometheus file_sd files: JSON
// or YAML lists of {targets: [host:port, ...], labels: {name: value}}. The
// files are re-read every RefreshInterval; a target that appears is
// scraped from then on, one that disappears stops being scraped, and the
// other sources are not touched. A file that cannot be read or parsed keeps
// its last good targets.
type FileSDConfig struct {
	// Files are paths or globs (in the file name only, as in Prometheus),
	// ending in .json, .yml or .yaml; relative ones are relative to the
	// config file's directory.
	Files           []string      `yaml:"files"`
	RefreshInterval time.Duration `yaml:"refresh_interval"`
}

func (c *FileSDConfig) setDefaults() { c.RefreshInterval = DefaultFileSDRefresh }

func (c *FileSDConfig) fillDefaults(configFile string) {
	if configFile == "" || strings.HasPrefix(configFile, "<") {
		return // embedded or unnamed config: no directory to be relative to
	}
	for i, p := range c.Files {
		if p != "" && !filepath.IsAbs(p) {
			c.Files[i] = filepath.Join(filepath.Dir(configFile), p)
		}
	}
}

// validate checks one file_sd_configs item; at names the item's fields.
func (c *FileSDConfig) validate(at func(msg string, keys ...any) error) error {
	if len(c.Files) == 0 {
		return at("at least one file is required", "files")
	}
	for j, p := range c.Files {
		if _, err := filepath.Match(p, ""); err != nil || p == "" {
			return at(fmt.Sprintf("invalid file pattern %q", p), "files", j)
		}
		if strings.ContainsAny(filepath.Dir(p), "*?[") {
			return at("globs are only allowed in the file name, not in directories", "files", j)
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".json", ".yml", ".yaml":
		default:
			return at(fmt.Sprintf("file %q must end in .json, .yml or .yaml", p), "files", j)
		}
	}
	if c.RefreshInterval < time.Second {
		return at("must be at least 1s", "refresh_interval")
	}
	return nil
}

// TargetGroup is one entry of a file_sd file, or one group a discovery
// mechanism found.
type TargetGroup struct {
	Targets []string          `yaml:"targets" json:"targets"`
	Labels  map[string]string `yaml:"labels" json:"labels"`
	// Source is the file the group came from (__meta_filepath), or the
	// discovery's name for the group.
	Source string `yaml:"-" json:"-"`
	// TargetLabels, for discovered groups, are each target's own labels
	// (__address__ and __meta_*), parallel to Targets; nil for file_sd.
	TargetLabels []map[string]string `yaml:"-" json:"-"`
}

// ParseTargetGroups decodes a file_sd file (by extension: JSON, else YAML)
// strictly and validates every target and label.
func ParseTargetGroups(path string, data []byte) ([]TargetGroup, error) {
	var groups []TargetGroup
	if strings.EqualFold(filepath.Ext(path), ".json") {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&groups); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&groups); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("invalid YAML: %w", err)
		}
	}
	for i, g := range groups {
		groups[i].Source = path
		for _, t := range g.Targets {
			if err := validateTargetAddr(t); err != nil {
				return nil, fmt.Errorf("group %d: %w", i, err)
			}
		}
		for name, v := range g.Labels {
			if !model.LegacyValidation.IsValidLabelName(name) {
				return nil, fmt.Errorf("group %d: invalid label name %q", i, name)
			}
			switch name {
			case model.SchemeLabel:
				if v != "http" && v != "https" {
					return nil, fmt.Errorf("group %d: %s %q: want http or https", i, name, v)
				}
			case model.MetricsPathLabel:
				if !strings.HasPrefix(v, "/") {
					return nil, fmt.Errorf("group %d: %s %q must start with /", i, name, v)
				}
			}
		}
	}
	return groups, nil
}

// validateTargetAddr accepts host or host:port, as file_sd targets are
// written (no scheme, no path).
func validateTargetAddr(t string) error {
	if t == "" {
		return errors.New("empty target")
	}
	if strings.ContainsAny(t, "/?#@ ") {
		return fmt.Errorf("target %q: want host:port without scheme or path", t)
	}
	u, err := url.Parse("http://" + t)
	if err != nil || u.Host != t {
		return fmt.Errorf("target %q: want host:port", t)
	}
	if _, _, err := net.SplitHostPort(t); err != nil && strings.Contains(t, ":") && !strings.HasPrefix(t, "[") {
		return fmt.Errorf("target %q: %v", t, err)
	}
	return nil
}

// ExpandTargets turns the groups into one source per target, running the
// source's relabel_configs on each as Prometheus does (relabel.
// PopulateTarget): a target starts with __address__ (its host:port),
// __meta_filepath (its file), the group's labels over the source's labels,
// and job, __scheme__, __metrics_path__, __param_<name>,
// __scrape_interval__ and __scrape_timeout__ from the source where those
// do not set them. A target the rules drop is left out; one they leave
// unscrapable is left out with an error. A target's name is
// "<source>/<address>" (with "#2", "#3" for one listed again with other
// labels or path); its labels are what the rules left, __ labels removed,
// instance defaulting to the address. Identical targets are scraped once.
func (s *SourceConfig) ExpandTargets(groups []TargetGroup) ([]SourceConfig, []error) {
	var out []SourceConfig
	var errs []error
	seen := map[string]int{}
	dup := map[string]bool{} // identical target+labels listed twice: scrape once
	d := relabel.TargetDefaults{Job: s.Name, Interval: s.Interval, Timeout: s.Timeout,
		Scheme: s.Scheme, MetricsPath: s.MetricsPath, Params: s.Params}
	for _, g := range groups {
		gl := maps.Clone(s.Labels)
		if gl == nil {
			gl = map[string]string{}
		}
		maps.Copy(gl, g.Labels)
		for i, t := range g.Targets {
			var tl map[string]string
			switch {
			case g.TargetLabels != nil:
				tl = g.TargetLabels[i]
			case g.Source != "":
				tl = map[string]string{model.AddressLabel: t, "__meta_filepath": g.Source}
			default:
				tl = map[string]string{model.AddressLabel: t}
			}
			tg, err := relabel.PopulateTarget(d, tl, gl, s.RelabelConfigs)
			if err != nil {
				errs = append(errs, fmt.Errorf("discovered target %s (%s): relabel_configs: %w", t, g.Source, err))
				continue
			}
			if tg == nil {
				continue
			}
			labels := make(map[string]string, len(tg.Labels))
			for _, l := range tg.Labels {
				labels[l.Name] = l.Value
			}
			u := tg.URL()
			key := u + "\x00" + labelKey(labels)
			if dup[key] {
				continue
			}
			dup[key] = true
			name := s.Name + "/" + tg.Address
			if n := seen[name]; n > 0 {
				seen[name] = n + 1
				name = fmt.Sprintf("%s#%d", name, n+1)
			} else {
				seen[name] = 1
			}
			c := *s
			c.Name, c.URL, c.SDConfigs, c.Scheme, c.MetricsPath = name, u, SDConfigs{}, "", ""
			c.Interval, c.Timeout = tg.Interval, tg.Timeout
			c.Labels, c.RelabelConfigs, c.Params = labels, nil, nil // applied; params are in the URL
			out = append(out, c)
		}
	}
	return out, errs
}

func labelKey(m map[string]string) string {
	var b strings.Builder
	for _, k := range sortedStrings(m) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
		b.WriteByte(0)
	}
	return b.String()
}

// ReadSDFile reads a file_sd file, refusing one larger than 16 MiB.
func ReadSDFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("file_sd: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSDBytes+1))
	if err != nil {
		return nil, fmt.Errorf("file_sd: read %s: %w", path, err)
	}
	if len(data) > maxFileSDBytes {
		return nil, fmt.Errorf("file_sd: %s is larger than %d bytes", path, maxFileSDBytes)
	}
	return data, nil
}
