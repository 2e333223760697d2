package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/stdout"
)

var update = flag.Bool("update", false, "rewrite testdata/config golden files")

// testEnv is the environment every config test sees; the process
// environment is never consulted, so results do not depend on the machine.
func testEnv(extra map[string]string) lookupFunc {
	env := map[string]string{
		"SCOUT_ORG":             "acme",
		"CREDENTIALS_DIRECTORY": "/run/credentials/promfwd.service",
		"TARGET_HOST":           "node1",
		"EMPTY":                 "",
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

func loadTestFile(t *testing.T, path string, env lookupFunc) (*Config, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return load(filepath.Base(path), data, env)
}

// golden compares got with the file at path, rewriting it under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("mismatch with %s (go test -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

func TestLoadGoodConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/config/good/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no good configs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := loadTestFile(t, f, testEnv(nil))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			out, err := cfg.Redacted()
			if err != nil {
				t.Fatalf("redacted: %v", err)
			}
			golden(t, filepath.Join("testdata/config/redacted", filepath.Base(f)), out)
			// The effective config must load again to the same config
			// (secrets excepted: they print as <secret>).
			again, err := load(cfg.File, out, testEnv(nil))
			if err != nil {
				t.Fatalf("reload of Redacted output: %v\n%s", err, out)
			}
			if !cfg.HasSecrets() {
				// Sinks print their defaults and inherited resend_after,
				// which then load as explicit settings.
				assertSameConfig(t, cfg.effective(), again)
			}
			for i, s := range cfg.Sources {
				if s.Discovers() {
					continue // its targets are not known yet
				}
				if _, _, err := s.TargetConfig("promfwd/test"); err != nil {
					t.Errorf("sources[%d].TargetConfig: %v", i, err)
				}
			}
		})
	}
}

// assertSameConfig compares two configs, ignoring where sinks and data_dir were defined
// (a rendered config has its own line numbers).
func assertSameConfig(t testing.TB, a, b *Config) {
	t.Helper()
	strip := func(c *Config) Config {
		out := *c
		out.credErrs = nil  // positioned in each file, so they differ
		out.dataDirAt = nil // a position in the file
		out.Sinks = append([]SinkConfig(nil), c.Sinks...)
		for i := range out.Sinks {
			out.Sinks[i].Line = 0
		}
		return out
	}
	if x, y := strip(a), strip(b); !reflect.DeepEqual(x, y) {
		t.Errorf("configs differ:\n%#v\n%#v", x, y)
	}
}

func TestLoadBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/config/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := loadTestFile(t, f, testEnv(nil))
			if err == nil {
				t.Fatal("loaded without error")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("error is %T, want *ConfigError: %v", err, err)
			}
			if kubernetesGoldens[filepath.Base(f)] {
				return // written by the full build (-tags nokubernetes runs this)
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".err", []byte(err.Error()+"\n"))
		})
	}
}

func TestLoadValues(t *testing.T) {
	cfg, err := loadTestFile(t, "testdata/config/good/full.yaml", testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	scout, docker := cfg.Sources[0], cfg.Sources[1]
	checks := []struct {
		name      string
		got, want any
	}{
		{"memory limit", cfg.MemoryLimit, ByteSize(512 << 20)},
		{"url expanded", scout.URL, "https://api.scout.docker.com/v1/exporter/org/acme/metrics"},
		{"token file expanded", scout.BearerTokenFile, "/run/credentials/promfwd.service/scout_pat"},
		{"interval", scout.Interval, time.Hour},
		{"timeout", scout.Timeout, 30 * time.Second},
		{"body bytes", scout.BodySizeLimit, ByteSize(64 << 20)},
		{"label value length", scout.LabelValueLengthLimit, 1024},
		{"limits", scout.ScrapeLimits(), scrape.Limits{MaxSamples: 100000, MaxLabels: 64, MaxLabelNameLen: 128, MaxLabelValueLen: 1024}},
		{"honor", []bool{scout.HonorLabels, scout.HonorTimestamps, scout.TargetSeries}, []bool{true, false, false}},
		{"default honor", []bool{docker.HonorLabels, docker.HonorTimestamps, docker.TargetSeries}, []bool{false, true, true}},
		{"pasted ${1} kept", scout.MetricRelabelConfigs[1].Replacement, "docker_scout_${1}"},
		{"pasted $1 kept", scout.MetricRelabelConfigs[2].Replacement, "$1"},
		{"relabel defaults", []string{scout.MetricRelabelConfigs[0].Separator, string(scout.MetricRelabelConfigs[1].Action)}, []string{";", "replace"}},
		{"write relabel", string(cfg.Sinks[0].WriteRelabelConfigs[0].Action), "labeldrop"},
		{"proxy", scout.ProxyURL.String(), "http://proxy:3128"},
		{"routes", scout.Sinks, []string{"splunk"}},
		{"default interval", docker.Interval, time.Minute},
		{"default timeout", docker.Timeout, 10 * time.Second},
		{"default body bytes", docker.BodySizeLimit, ByteSize(DefaultBodyBytes)},
		{"unix metrics path", docker.MetricsPath, "/metrics"},
		{"runner", cfg.Sinks[0].Runner, sinks.RunnerConfig{MaxBatchSamples: 10000, FlushInterval: time.Second, MaxPendingSamples: 50000, MaxQueueBytes: 64 << 20, Concurrency: 1}},
		{"resend override", *cfg.Sinks[0].ResendAfter, 4 * time.Minute},
		{"resend disabled", *cfg.Sinks[1].ResendAfter, time.Duration(0)},
		{"sink line", cfg.Sinks[1].Line, 49},
		{"settings type", reflect.TypeOf(cfg.Sinks[0].Settings), reflect.TypeFor[*stdout.Config]()},
		{"file", cfg.File, "full.yaml"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}

	env, err := loadTestFile(t, "testdata/config/good/env_defaults.yaml", testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	checks = []struct {
		name      string
		got, want any
	}{
		{"default used", env.Server.Listen, "127.0.0.1:9999"},
		{"bool from default", env.Dedupe.Enabled, false},
		{"int from default", env.Sinks[0].Runner.Concurrency, 2},
		{"host and port", env.Sources[0].URL, "http://node1:9100/metrics"},
		{"$$ escape", env.Sources[0].Labels["cost"], "$5"},
		{"lone $ kept", env.Sources[0].Labels["literal"], "$HOME stays"},
		{"quoted stays string", env.Sources[0].Labels["quoted_default"], "123"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "promfwd.yaml")
	data, err := os.ReadFile("testdata/config/good/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != path {
		t.Errorf("File = %q, want %q", cfg.File, path)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want os.ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("sources: 1\nsinks: [{name: out, type: stdout}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(bad)
	if want := bad + ":1:10: sources: expected a list, got a number"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestTargetConfig(t *testing.T) {
	cfg, err := loadTestFile(t, "testdata/config/good/full.yaml", testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	tc, _, err := cfg.Sources[0].TargetConfig("promfwd/1.0")
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := scrape.Labels{{Name: "env", Value: "prod"}, {Name: "host", Value: "api.scout.docker.com"},
		{Name: "instance", Value: "scout-api"}, {Name: "job", Value: "scout"}}
	if !reflect.DeepEqual(tc.TargetLabels, wantLabels) {
		t.Errorf("labels = %v, want %v", tc.TargetLabels, wantLabels)
	}
	if tc.UserAgent != "promfwd/1.0" || tc.Timeout != 30*time.Second || tc.MaxBodyBytes != 64<<20 {
		t.Errorf("user agent %q, timeout %s, body %d", tc.UserAgent, tc.Timeout, tc.MaxBodyBytes)
	}
	if tc.Limits != (scrape.Limits{}) {
		t.Errorf("limits = %+v: they apply after metric relabeling, not in the parser", tc.Limits)
	}
	if !tc.HonorLabels || !tc.IgnoreTimestamps || tc.URL != "https://api.scout.docker.com/v1/exporter/org/acme/metrics?format=prometheus" {
		t.Errorf("honor_labels %v, ignore timestamps %v, url %s", tc.HonorLabels, tc.IgnoreTimestamps, tc.URL)
	}
	h := tc.HTTP
	if h.Authorization == nil || h.Authorization.CredentialsFile != "/run/credentials/promfwd.service/scout_pat" || h.Authorization.Type != "Bearer" {
		t.Errorf("authorization = %+v", h.Authorization)
	}
	if h.TLSConfig.ServerName != "scout" || h.TLSConfig.CAFile != "/etc/ssl/ca.pem" || h.ProxyURL.String() != "http://proxy:3128" {
		t.Errorf("tls %+v proxy %v", h.TLSConfig, h.ProxyURL)
	}
	if got := h.HTTPHeaders.Headers["Prefer"].Secrets; len(got) != 1 || got[0] != "profile=preview" {
		t.Errorf("headers = %+v", h.HTTPHeaders)
	}
	if !h.FollowRedirects || !h.EnableHTTP2 {
		t.Errorf("commoncfg defaults lost: %+v", h)
	}

	tc, _, err = cfg.Sources[1].TargetConfig("ua")
	if err != nil {
		t.Fatal(err)
	}
	wantLabels = scrape.Labels{{Name: "instance", Value: "/run/docker/metrics.sock"}, {Name: "job", Value: "docker.daemon"}}
	if !reflect.DeepEqual(tc.TargetLabels, wantLabels) || tc.MetricsPath != "/metrics" {
		t.Errorf("unix labels = %v, path %q", tc.TargetLabels, tc.MetricsPath)
	}
	if tc.HTTP.BasicAuth == nil || tc.HTTP.BasicAuth.PasswordFile != "/run/secrets/pw" {
		t.Errorf("basic auth = %+v", tc.HTTP.BasicAuth)
	}
}

func TestRoutesTo(t *testing.T) {
	cfg, err := loadTestFile(t, "testdata/config/good/full.yaml", testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Sources[0]
	if !s.RoutesTo("splunk") || s.RoutesTo("debug") || !cfg.Sources[1].RoutesTo("debug") {
		t.Error("RoutesTo disagrees with sources[].sinks")
	}
}
