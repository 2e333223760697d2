package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole promfwd configuration file after loading: defaults
// filled, environment expanded, validated.
type Config struct {
	// DataDir holds the disk queues and dedupe state; "" keeps them in memory only.
	DataDir string `yaml:"data_dir"`
	// ShutdownTimeout bounds the flush of queues on SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	Server          ServerConfig  `yaml:"server"`
	Global          GlobalConfig  `yaml:"global"`
	Dedupe          DedupeConfig  `yaml:"dedupe"`
	// Shard makes this process one of N replicas that split the targets.
	Shard   ShardConfig    `yaml:"shard,omitempty"`
	Sources []SourceConfig `yaml:"sources"`
	Sinks   []SinkConfig   `yaml:"sinks"`
	// File is the path (or name) the config was loaded from.
	File string `yaml:"-"`

	// MemoryLimit is the Go runtime's soft memory limit (GOMEMLIMIT), read
	// at start; 0 means 90% of the container's (cgroup) limit, or none
	// outside a container. The GOMEMLIMIT environment variable wins.
	MemoryLimit ByteSize `yaml:"memory_limit,omitempty"`

	// credErrs are the credential files unreadable at load time.
	credErrs error

	dataDirAt *dataDirPos // where data_dir is, for CheckDataDir (datadir.go)
}

// ServerConfig is the self-metrics, /healthz and /readyz HTTP server.
type ServerConfig struct {
	// Listen is host:port; "" disables the server.
	Listen string `yaml:"listen"`
	// WebConfigFile is a Prometheus exporter-toolkit web config (TLS,
	// client certificates, bcrypt basic-auth users) for this server;
	// relative paths start at the config file's directory (webconfig.go).
	WebConfigFile string `yaml:"web_config_file,omitempty"`
}

// GlobalConfig holds defaults for every source.
type GlobalConfig struct {
	ScrapeInterval time.Duration `yaml:"scrape_interval"`
	ScrapeTimeout  time.Duration `yaml:"scrape_timeout"`
}

// DedupeConfig controls the skipping of unchanged values.
type DedupeConfig struct {
	Enabled bool `yaml:"enabled"`
	// ResendAfter is the heartbeat: an unchanged value is sent again once
	// this long has passed. Keep it under Prometheus' 5m staleness.
	ResendAfter time.Duration `yaml:"resend_after"`
}

// Defaults, next to the structs they fill.
const (
	DefaultShutdownTimeout = 30 * time.Second
	DefaultListen          = "127.0.0.1:9465"
	DefaultScrapeInterval  = 60 * time.Second
	DefaultScrapeTimeout   = 10 * time.Second
	DefaultResendAfter     = 4 * time.Minute
	DefaultBodyBytes       = 64 << 20
	DefaultUnixMetricsPath = "/metrics"
)

// defaultConfig is what a file starts from before decoding; per-source
// defaults that depend on global come in (*Config).fillDefaults.
func defaultConfig() Config {
	return Config{
		ShutdownTimeout: DefaultShutdownTimeout,
		Server:          ServerConfig{Listen: DefaultListen},
		Global:          GlobalConfig{ScrapeInterval: DefaultScrapeInterval, ScrapeTimeout: DefaultScrapeTimeout},
		Dedupe:          DedupeConfig{Enabled: true, ResendAfter: DefaultResendAfter},
	}
}

// LoadFile reads and loads the config file at path.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Load(path, data)
}

// Load parses, expands ${VAR} references from the process environment,
// decodes strictly, fills defaults and validates. name appears in every error
// message and in Config.File. Errors are *ConfigError when they concern the
// file's content.
func Load(name string, data []byte) (*Config, error) {
	return load(name, data, os.LookupEnv)
}

func load(name string, data []byte, lookup lookupFunc) (*Config, error) {
	return loadWith(name, data, lookup, os.Hostname)
}

// LoadWith is Load with the environment injected: lookup resolves ${VAR}
// references and hostname (nil: os.Hostname) gives the host name for
// shard.index_from_hostname, so that results do not depend on the machine.
func LoadWith(name string, data []byte, lookup func(string) (string, bool), hostname func() (string, error)) (*Config, error) {
	if hostname == nil {
		hostname = os.Hostname
	}
	return loadWith(name, data, lookup, hostname)
}

// loadWith is load with the host name (for shard.index_from_hostname and
// an unset ${HOSTNAME}) injected.
func loadWith(name string, data []byte, lookup lookupFunc, hostname func() (string, error)) (*Config, error) {
	d := &decoder{file: name, tainted: map[*yaml.Node]bool{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ConfigError{File: name, Msg: "empty config: at least one source and one sink are required"}
		}
		return nil, parseError(name, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &ConfigError{File: name, Line: extra.Line, Column: extra.Column, Msg: "more than one YAML document"}
	}
	if err := d.expandEnv(&doc, "", withHostname(lookup, hostname)); err != nil { // envhost.go
		return nil, err
	}
	cfg := defaultConfig()
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	decodeErr := d.decode(root, reflect.ValueOf(&cfg).Elem(), "")
	cfg.File = name
	cfg.fillDefaults()
	if err := mergeErrors(decodeErr, cfg.validate(d, root)); err != nil {
		return nil, err
	}
	if field, err := cfg.Shard.resolve(hostname); err != nil {
		return nil, validator{d: d, root: root}.errAt(err.Error(), "shard", field)
	}
	cfg.credErrs = cfg.checkCredentialFiles(validator{d: d, root: root})
	return &cfg, nil
}

// fillDefaults applies defaults that depend on other settings.
func (c *Config) fillDefaults() {
	for i := range c.Sources {
		c.Sources[i].fillDefaults(c.Global, c.File)
	}
}

// Redacted renders the effective config (defaults filled, sinks' delivery
// defaults and inherited resend_after included) as YAML. Every
// secret (tokens, passwords, keys, header values) prints as <secret>, so the
// output is safe to log or show in `promfwd check`.
func (c *Config) Redacted() ([]byte, error) {
	n, err := encodeValue(reflect.ValueOf(c.effective()).Elem())
	if err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	redactURLs(n)
	escapeDollars(n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	return b.Bytes(), nil
}

// HasSecrets reports whether any secret is set inline in the config (as
// opposed to read from a file), i.e. whether Redacted() loses information.
func (c *Config) HasSecrets() bool {
	return hasSecret(reflect.ValueOf(c).Elem())
}

func hasSecret(v reflect.Value) bool {
	if v.Type() == secretType {
		return v.String() != ""
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && hasSecret(v.Elem())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && hasSecret(v.Field(i)) {
				return true
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if hasSecret(v.MapIndex(k)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if hasSecret(v.Index(i)) {
				return true
			}
		}
	}
	return false
}

// parseError turns yaml.v3's "yaml: line 3: mapping values are not allowed
// in this context" into a positioned *ConfigError. yaml.v3 reports the line
// where the enclosing block starts (a bad indent on line 4 of a list that
// starts on line 1 says "line 1"), so the line is refined to the first one
// at which the document, cut after it, fails with the same message.
func parseError(file string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &ConfigError{File: file}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, after, found := strings.Cut(rest, ": ")
		if n, convErr := strconv.Atoi(num); found && convErr == nil {
			e.Line, msg = n, after
			if l := failingLine(data, after); l > n {
				e.Line = l
			}
		}
	}
	e.Msg = "invalid YAML: " + msg
	return e
}

// maxRefineLines bounds the quadratic search of failingLine.
const maxRefineLines = 2000

// failingLine returns the first line k such that the first k lines of data
// fail to parse with message msg, or 0.
func failingLine(data []byte, msg string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxRefineLines {
		return 0
	}
	end := 0
	for k, l := range lines {
		end += len(l)
		var n yaml.Node
		err := yaml.Unmarshal(data[:end], &n)
		if err == nil {
			continue
		}
		m := strings.TrimPrefix(err.Error(), "yaml: ")
		if rest, ok := strings.CutPrefix(m, "line "); ok {
			if _, after, found := strings.Cut(rest, ": "); found {
				m = after
			}
		}
		if m == msg {
			return k + 1
		}
	}
	return 0
}
