package forwarder

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/sinks/hec"
)

// ciEnv is the environment CI gives `promfwd check configs/*.yaml`: every
// example must load with only these set (other variables need defaults).
var ciEnv = map[string]string{"HEC_TOKEN": "ci-dummy-hec", "DD_API_KEY": "ci-dummy-dd"}

func ciLookup(name string) (string, bool) {
	v, ok := ciEnv[name]
	return v, ok
}

// deployEnv is what the deploy/ manifests get from their platform (the
// StatefulSet's pod ordinal, for one).
var deployEnv = map[string]string{"POD_ORDINAL": "1", "HOSTNAME": "promfwd-1", "CLUSTER_NAME": "ci"}

// envFor is the environment an example is loaded with: CI's for configs/,
// plus the platform's for deploy/.
func envFor(path string) lookupFunc {
	if !strings.Contains(filepath.ToSlash(path), "/deploy/") {
		return ciLookup
	}
	return func(name string) (string, bool) {
		if v, ok := deployEnv[name]; ok {
			return v, true
		}
		return ciLookup(name)
	}
}

// exampleConfigs lists the configs users copy.
func exampleConfigs(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../configs/*.yaml", "../deploy/*/promfwd.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	return files
}

// TestExampleConfigs loads every example config with CI's environment and
// builds its sinks and sources: no error, at least one source and sink, and
// the effective config printed by `promfwd check` shows no secret.
func TestExampleConfigs(t *testing.T) {
	t.Parallel()
	for _, path := range exampleConfigs(t) {
		t.Run(filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), func(t *testing.T) {
			data := promfwdConfigIn(t, path)
			env := envFor(path)
			cfg, err := load(path, data, env)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if len(cfg.Sources) == 0 || len(cfg.Sinks) == 0 {
				t.Fatalf("%d sources, %d sinks", len(cfg.Sources), len(cfg.Sinks))
			}
			out, err := cfg.Redacted()
			if err != nil {
				t.Fatalf("Redacted: %v", err)
			}
			for _, v := range ciEnv {
				if strings.Contains(string(out), v) {
					t.Errorf("check output shows the secret %q", v)
				}
			}
			// The effective config loads again to the same thing.
			again, err := load(path, out, env)
			if err != nil && !cfg.HasSecrets() {
				t.Fatalf("reloading the check output: %v", err)
			}
			if err == nil && len(again.Sources) != len(cfg.Sources) {
				t.Errorf("check output has %d sources, want %d", len(again.Sources), len(cfg.Sources))
			}
			// Build it, with plausible credentials in place: systemd's
			// credentials directory holds the token the unit loads.
			creds := t.TempDir()
			if err := os.WriteFile(filepath.Join(creds, "hec_token"), []byte("ci-dummy-hec\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err = load(path, data, func(name string) (string, bool) {
				if name == "CREDENTIALS_DIRECTORY" {
					return creds, true
				}
				return env(name)
			})
			if err != nil {
				t.Fatalf("load with CREDENTIALS_DIRECTORY: %v", err)
			}
			cfg.DataDir = "" // building must not touch /var/lib
			for _, sc := range cfg.Sinks {
				// A token file at a fixed path of the target host (a
				// mounted secret): the test's stands in for it.
				if hc, ok := sc.Settings.(*hec.Config); ok && hc.TokenFile != "" {
					if _, err := os.Stat(hc.TokenFile); errors.Is(err, fs.ErrNotExist) {
						hc.TokenFile = filepath.Join(creds, "hec_token")
					}
				}
			}
			f, err := New(cfg, Options{})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			f.closeAll()
		})
	}
}

// promfwdConfigIn returns the promfwd config in path: the file itself, or
// for a Kubernetes manifest the promfwd.yaml key of its ConfigMaps.
func promfwdConfigIn(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first struct {
		Kind string            `yaml:"kind"`
		Data map[string]string `yaml:"data"`
	}
	if err := dec.Decode(&first); err != nil || first.Kind == "" {
		return data // a plain promfwd config (load reports its errors)
	}
	for doc := first; ; {
		if doc.Kind == "ConfigMap" {
			if c, ok := doc.Data["promfwd.yaml"]; ok {
				return []byte(c)
			}
		}
		doc.Kind, doc.Data = "", nil
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("%s: a Kubernetes manifest without a ConfigMap holding promfwd.yaml (%v)", path, err)
		}
	}
}

// TestExampleConfigsSeedSystems checks what each seed system's example
// promises in its comments.
func TestExampleConfigsSeedSystems(t *testing.T) {
	t.Parallel()
	get := func(t *testing.T, name string) *config.Config {
		t.Helper()
		data, err := os.ReadFile(filepath.Join("..", "configs", name))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := load(name, data, ciLookup)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	t.Run("docker-scout", func(t *testing.T) {
		cfg := get(t, "docker-scout-splunk.yaml")
		s := cfg.Sources[0]
		if !strings.HasPrefix(s.URL, "https://api.scout.docker.com/") || s.BearerTokenFile == "" || s.Interval != time.Hour {
			t.Errorf("source = %s, token file %q, interval %s; want https Docker Scout API, a token file, 60m", s.URL, s.BearerTokenFile, s.Interval)
		}
		if !cfg.Dedupe.Enabled || cfg.Dedupe.ResendAfter < time.Hour {
			t.Errorf("dedupe = %+v, want on with a heartbeat of at least the interval", cfg.Dedupe)
		}
		if c, ok := cfg.Sinks[0].Settings.(*hec.Config); !ok || string(c.Token) != ciEnv["HEC_TOKEN"] {
			t.Errorf("sink = %s %T, want hec with the token from $HEC_TOKEN", cfg.Sinks[0].Type, cfg.Sinks[0].Settings)
		}
	})
	t.Run("scalr", func(t *testing.T) {
		cfg := get(t, "scalr-datadog.yaml")
		s := cfg.Sources[0]
		if !strings.HasSuffix(s.URL, ".scalr.io/api/iacp/v3/metrics") || s.BearerTokenFile == "" {
			t.Errorf("source = %s, token file %q", s.URL, s.BearerTokenFile)
		}
		if string(s.Headers["Prefer"]) != "profile=preview" {
			t.Errorf("headers = %v, want Prefer: profile=preview", s.Headers)
		}
		if cfg.Sinks[0].Type != "datadog" {
			t.Errorf("sink type %s, want datadog", cfg.Sinks[0].Type)
		}
	})
	t.Run("docker-daemon", func(t *testing.T) {
		cfg := get(t, "docker-daemon-remote-write.yaml")
		if s := cfg.Sources[0]; s.URL != "unix:///run/docker/metrics.sock" || s.MetricsPath != "/metrics" {
			t.Errorf("source = %s path %s", s.URL, s.MetricsPath)
		}
		if cfg.Sinks[0].Type != "remote_write" {
			t.Errorf("sink type %s, want remote_write", cfg.Sinks[0].Type)
		}
		if cfg.Dedupe.Enabled && cfg.Dedupe.ResendAfter >= 5*time.Minute {
			t.Errorf("resend_after %s: remote-write needs a heartbeat under Prometheus' 5m staleness", cfg.Dedupe.ResendAfter)
		}
	})
}
