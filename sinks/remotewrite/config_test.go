package remotewrite

import (
	"bytes"
	"strings"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"
)

func decodeConfig(t *testing.T, src string) (Config, error) {
	t.Helper()
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return cfg, cfg.Validate()
}

func TestConfigYAML(t *testing.T) {
	cfg, err := decodeConfig(t, `
url: https://mimir.example/api/v1/push
headers:
  X-Scope-OrgID: tenant-1
bearer_token_file: /run/credentials/token
tls:
  insecure_skip_verify: false
  server_name: mimir.example
timeout: 5s
max_samples_per_send: 500
shards: 4
`)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		URL:               "https://mimir.example/api/v1/push",
		Headers:           map[string]commoncfg.Secret{"X-Scope-OrgID": "tenant-1"},
		BearerTokenFile:   "/run/credentials/token",
		TLS:               commoncfg.TLSConfig{ServerName: "mimir.example"},
		Timeout:           5 * time.Second,
		MaxSamplesPerSend: 500,
		Shards:            4,
	}
	if cfg.URL != want.URL || cfg.Headers["X-Scope-OrgID"] != "tenant-1" || cfg.BearerTokenFile != want.BearerTokenFile ||
		cfg.TLS.ServerName != want.TLS.ServerName || cfg.Timeout != want.Timeout ||
		cfg.MaxSamplesPerSend != want.MaxSamplesPerSend || cfg.Shards != want.Shards {
		t.Errorf("decoded %+v, want %+v", cfg, want)
	}

	defaults, err := decodeConfig(t, "url: http://127.0.0.1:9090/api/v1/write\n")
	if err != nil {
		t.Fatal(err)
	}
	if defaults.MaxSamplesPerSend != 2000 || defaults.Shards != 1 || defaults.Timeout != 30*time.Second {
		t.Errorf("defaults not kept: %+v", defaults)
	}
}

func TestConfigMarshalHidesSecrets(t *testing.T) {
	cfg := DefaultConfig()
	cfg.URL = "http://127.0.0.1:9090/api/v1/write"
	cfg.BearerToken = "tok-SECRET-1"
	cfg.Headers = map[string]commoncfg.Secret{"X-Api-Key": "key-SECRET-2"}
	cfg.BasicAuth = &BasicAuth{Username: "u", Password: "pw-SECRET-3"}
	var buf bytes.Buffer
	if err := yaml.NewEncoder(&buf).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "SECRET") {
		t.Errorf("marshalled config shows a secret:\n%s", buf.String())
	}
}

func TestValidate(t *testing.T) {
	base := func(mut func(*Config)) Config {
		c := DefaultConfig()
		c.URL = "http://127.0.0.1:9090/api/v1/write"
		mut(&c)
		return c
	}
	cases := []struct {
		name    string
		cfg     Config
		wantErr string // "" means valid
	}{
		{"minimal", base(func(*Config) {}), ""},
		{"https with basic auth file", base(func(c *Config) {
			c.URL = "https://h/api/v1/write"
			c.BasicAuth = &BasicAuth{Username: "u", PasswordFile: "/p"}
		}), ""},
		{"custom headers", base(func(c *Config) { c.Headers = map[string]commoncfg.Secret{"X-Scope-OrgID": "t"} }), ""},
		{"authorization header without auth config", base(func(c *Config) {
			c.Headers = map[string]commoncfg.Secret{"Authorization": "Bearer x"}
		}), ""},
		{"missing url", base(func(c *Config) { c.URL = "" }), "url: required"},
		{"bad scheme", base(func(c *Config) { c.URL = "ftp://h/x" }), "url: scheme must be http or https"},
		{"no host", base(func(c *Config) { c.URL = "http:///x" }), "url: no host"},
		{"unparsable url", base(func(c *Config) { c.URL = "http://a b\x7f" }), "url: cannot parse"},
		{"content-encoding", base(func(c *Config) { c.Headers = map[string]commoncfg.Secret{"content-encoding": "gzip"} }), "Content-Encoding is set by the remote-write protocol"},
		{"content-type", base(func(c *Config) { c.Headers = map[string]commoncfg.Secret{"Content-Type": "x"} }), "Content-Type is set"},
		{"version", base(func(c *Config) {
			c.Headers = map[string]commoncfg.Secret{"x-prometheus-remote-write-version": "2.0.0"}
		}), "X-Prometheus-Remote-Write-Version is set"},
		{"user-agent", base(func(c *Config) { c.Headers = map[string]commoncfg.Secret{"USER-AGENT": "x"} }), "User-Agent is set"},
		{"bad header name", base(func(c *Config) { c.Headers = map[string]commoncfg.Secret{"X Bad": "x"} }), "invalid header name"},
		{"authorization header with bearer", base(func(c *Config) {
			c.BearerToken = "t"
			c.Headers = map[string]commoncfg.Secret{"authorization": "x"}
		}), "Authorization conflicts"},
		{"two bearer sources", base(func(c *Config) { c.BearerToken, c.BearerTokenFile = "t", "/f" }), "mutually exclusive"},
		{"bearer and basic", base(func(c *Config) {
			c.BearerToken = "t"
			c.BasicAuth = &BasicAuth{Username: "u", Password: "p"}
		}), "mutually exclusive"},
		{"basic without username", base(func(c *Config) { c.BasicAuth = &BasicAuth{Password: "p"} }), "basic_auth.username: required"},
		{"basic with two passwords", base(func(c *Config) {
			c.BasicAuth = &BasicAuth{Username: "u", Password: "p", PasswordFile: "/f"}
		}), "password and password_file"},
		{"tls cert without key", base(func(c *Config) { c.TLS.CertFile = "/c.pem" }), "tls:"},
		{"negative timeout", base(func(c *Config) { c.Timeout = -time.Second }), "timeout: must not be negative"},
		{"zero max samples", base(func(c *Config) { c.MaxSamplesPerSend = 0 }), "max_samples_per_send: must be at least 1"},
		{"zero shards", base(func(c *Config) { c.Shards = 0 }), "shards: must be between 1 and 256"},
		{"too many shards", base(func(c *Config) { c.Shards = 257 }), "shards: must be between"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("Validate() = nil, want error containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestValidateErrorsHideCredentials(t *testing.T) {
	cfg := DefaultConfig()
	cfg.URL = "ftp://user:pw-SECRET@h/x?token=q-SECRET"
	err := cfg.Validate()
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("Validate() = %v; want an error without credentials", err)
	}
	cfg.URL = "http://user:pw-SECRET@/x?token=q-SECRET"
	err = cfg.Validate()
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("Validate() = %v; want an error without credentials", err)
	}
}

// TestValidateRejectsURLCredentials: as for HEC and Datadog, a password in
// the URL is refused (it would print wherever the URL does); basic_auth is
// the place for it.
func TestValidateRejectsURLCredentials(t *testing.T) {
	for _, u := range []string{"http://user:pw-SECRET@h/api/v1/write", "http://tok-SECRET@h/api/v1/write"} {
		cfg := DefaultConfig()
		cfg.URL = u
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "credentials in the URL") || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("Validate(%s) = %v; want a credentials error without them", u, err)
		}
	}
}
