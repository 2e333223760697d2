package datadog

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestConfigDefaultsFromYAML(t *testing.T) {
	var c Config
	if err := yaml.Unmarshal([]byte("api_key: k\nnamespace: scout\ntags: [env:prod]\n"), &c); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	if c.Site != want.Site || c.Compression != "gzip" || c.SendCountersAs != "delta" || c.CounterStateTTL != time.Hour ||
		c.Timeout != 30*time.Second || c.Interval != time.Minute || c.Namespace != "scout" || len(c.Tags) != 1 || c.APIKey != "k" {
		t.Fatalf("decoded %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.endpoint(); got != "https://api.datadoghq.com/api/v2/series" {
		t.Errorf("endpoint %q", got)
	}
}

func TestConfigYAMLErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"unknown key", "api_key: k\nsites: datadoghq.eu\n", "line 2: field sites not found"},
		{"unknown tls key", "api_key: k\ntls:\n  ca_fil: x\n", "line 3: field tls.ca_fil not found"},
		{"bad duration", "api_key: k\ncounter_state_ttl: soon\n", "line 2: cannot unmarshal !!str `soon` into time.Duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			err := yaml.Unmarshal([]byte(tc.in), &c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Unmarshal = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"every site", nil, ""},
		{"url overrides site", func(c *Config) { c.URL, c.Site = "http://127.0.0.1:1/proxy/", "nope" }, ""},
		{"bad site", func(c *Config) { c.Site = "datadoghq.org" }, "site:"},
		{"relative url", func(c *Config) { c.URL = "/api" }, "url:"},
		{"ftp url", func(c *Config) { c.URL = "ftp://x" }, "url:"},
		{"url with credentials", func(c *Config) { c.URL = "https://u:pw@x" }, "credentials"},
		{"no key", func(c *Config) { c.APIKey = "" }, "api_key or api_key_file is required"},
		{"both keys", func(c *Config) { c.APIKeyFile = "/k" }, "mutually exclusive"},
		{"compression", func(c *Config) { c.Compression = "zstd" }, "compression:"},
		{"counters", func(c *Config) { c.SendCountersAs = "rate" }, "send_counters_as:"},
		{"ttl", func(c *Config) { c.CounterStateTTL = 0 }, "counter_state_ttl:"},
		{"interval", func(c *Config) { c.Interval = time.Millisecond }, "interval:"},
		{"timeout", func(c *Config) { c.Timeout = -1 }, "timeout:"},
		{"empty tag", func(c *Config) { c.Tags = []string{"a", ""} }, "tags[1]"},
		{"namespace charset", func(c *Config) { c.Namespace = "my-app" }, "namespace:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, site := range Sites() {
				c := DefaultConfig()
				c.Site, c.APIKey = site, "k"
				if tc.mut != nil {
					tc.mut(&c)
				}
				err := c.Validate()
				if tc.want == "" {
					if err != nil {
						t.Fatalf("site %s: %v", site, err)
					}
					if c.URL == "" && c.endpoint() != "https://api."+site+"/api/v2/series" {
						t.Errorf("endpoint %q", c.endpoint())
					}
					if c.URL != "" && c.endpoint() != "http://127.0.0.1:1/proxy/api/v2/series" {
						t.Errorf("endpoint %q", c.endpoint())
					}
					continue
				}
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Validate = %v, want %q", err, tc.want)
				}
				if strings.Contains(err.Error(), "pw") {
					t.Errorf("error reveals URL credentials: %v", err)
				}
			}
		})
	}
}

func TestConfigStringRedacts(t *testing.T) {
	c := DefaultConfig()
	c.APIKey = testKey
	c.TLS.Key = "tls-private-key"
	for _, s := range []string{c.String(), (&c).String()} {
		if strings.Contains(s, testKey) || strings.Contains(s, "tls-private-key") || !strings.Contains(s, "<secret>") {
			t.Fatalf("String() = %s", s)
		}
	}
}
