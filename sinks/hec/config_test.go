package hec

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"

	"github.com/promfwd/promfwd/sinks"
)

func TestConfigYAML(t *testing.T) {
	in := `
url: https://splunk.example.com:8088/services/collector
token: abc
index: metrics
multi_metric: true
max_request_bytes: 500000
timeout: 5s
ack: {enabled: true, poll_interval: 2s, timeout: 1m}
`
	var c Config
	if err := yaml.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.Gzip || c.MaxEvents != 10000 || !c.MultiMetric || c.MaxRequestBytes != 500000 ||
		c.Timeout != model.Duration(5*time.Second) || c.Ack.Timeout != model.Duration(time.Minute) {
		t.Fatalf("decoded %+v", c)
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "abc") {
		t.Fatalf("marshalled config shows the token:\n%s", out)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown key", "url: http://x\ntoken: t\ntokn: y", "line 3: field tokn not found"},
		{"unknown ack key", "url: http://x\ntoken: t\nack: {enabled: true, poll: 1s}", "field ack.poll not found"},
		{"no url", "token: t", "url: required"},
		{"bad scheme", "url: ftp://x\ntoken: t", `url: scheme "ftp"`},
		{"url with credentials", "url: http://u:p@x\ntoken: t", "url: credentials"},
		{"no token", "url: http://x", "token: one of token or token_file"},
		{"both tokens", "url: http://x\ntoken: t\ntoken_file: /f", "token, token_file: set only one"},
		{"tiny requests", "url: http://x\ntoken: t\nmax_request_bytes: 10", "max_request_bytes: 10 is below"},
		{"negative events", "url: http://x\ntoken: t\nmax_events: -1", "max_events: -1"},
		{"zero timeout", "url: http://x\ntoken: t\ntimeout: 0s", "timeout: 0s must be positive"},
		{"ack timeout", "url: http://x\ntoken: t\nack: {enabled: true, poll_interval: 5s, timeout: 1s}", "ack.timeout: 1s must exceed"},
		{"tls", "url: http://x\ntoken: t\ntls: {cert_file: /c}", "key_file must be configured"},
		{"control chars", "url: http://x\ntoken: t\nhost: \"a\\nb\"", "host:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			err := yaml.Unmarshal([]byte(tc.yaml), &c)
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://h:8088":                               "https://h:8088",
		"https://h:8088/":                              "https://h:8088",
		"https://h:8088/services/collector":            "https://h:8088",
		"https://h:8088/services/collector/event":      "https://h:8088",
		"https://h/proxy/services/collector/":          "https://h/proxy",
		"https://h:8088/services/collector/event/1.0":  "https://h:8088",
		"https://h:8088/services/collector/event/1.0/": "https://h:8088",
	} {
		u, err := baseURL(in)
		if err != nil || u.String() != want {
			t.Errorf("baseURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
}

// TestBaseURLRejectsOtherPaths: a path that is not a documented HEC event
// endpoint used to be kept as a prefix (…/raw/services/collector), so check
// passed and every batch got 404 and was dropped; Validate now names it.
func TestBaseURLRejectsOtherPaths(t *testing.T) {
	for in, want := range map[string]string{
		"https://h:8088/services/collector/raw":     "raw endpoint",
		"https://h:8088/services/collector/raw/1.0": "raw endpoint",
		"https://h:8088/services/collector/ack":     "not an HEC event endpoint",
		"https://h/proxy/event":                     "not an HEC event endpoint",
		"https://h:8088/collector":                  "not an HEC event endpoint",
	} {
		c := Config{URL: in, Token: "t", MaxRequestBytes: DefaultMaxRequestBytes, Timeout: DefaultConfig().Timeout}
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "url: ") {
			t.Errorf("Validate(url %q) = %v, want an url error containing %q", in, err, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1")
	cfg.Token, cfg.TokenFile = "", t.TempDir()+"/missing"
	// A missing token file does not stop the service: the sink starts
	// unhealthy and says why.
	set := sinks.Settings{Logger: zap.NewNop(), Health: sinks.NewHealth(nil)}
	s, err := New(cfg, set)
	if err != nil {
		t.Fatalf("New with a missing token file = %v, want a sink that starts unhealthy", err)
	}
	_ = s.Close()
	if ok, reason, _ := set.Health.Status(); ok || !strings.Contains(reason, "token_file") {
		t.Fatalf("health with a missing token file = %v %q, want unhealthy naming token_file", ok, reason)
	}
	cfg = testConfig("")
	if _, err := New(cfg, sinks.Settings{}); err == nil || !errors.Is(err, err) || !strings.Contains(err.Error(), "url: required") {
		t.Fatalf("New without url = %v", err)
	}
}
