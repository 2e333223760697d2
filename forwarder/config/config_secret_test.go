package config

import (
	"fmt"
	"strings"
	"testing"
)

const (
	envToken   = "s3cr3t/T0ken+abc"
	envPass    = "env-password-42"
	envAPIKey  = "dd-api-key-0123456789"
	envTLSKey  = "-----BEGIN PRIVATE KEY----- zzz"
	fileSecret = "literal-pass-from-file"
)

func secretEnv() lookupFunc {
	return testEnv(map[string]string{"TOK": envToken, "PW": envPass, "KEY": envAPIKey, "TLSKEY": envTLSKey})
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{envToken, envPass, envAPIKey, envTLSKey, fileSecret} {
		if strings.Contains(s, secret) {
			t.Errorf("%s leaks secret %q:\n%s", what, secret, s)
		}
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	cfg, err := load("secrets.yaml", []byte(`
sources:
  - name: a
    url: https://a/metrics
    bearer_token: ${TOK}
    headers: { X-Api-Key: "${KEY}", Prefer: profile=preview }
    tls: { cert_file: /etc/c.pem, key: "${TLSKEY}" }
  - name: b
    url: https://b/metrics
    basic_auth: { username: u, password: '${PW}' }
  - name: c
    url: https://c/metrics
    basic_auth: { username: u, password: `+fileSecret+` }
sinks:
  - { name: out, type: stdout }
`), secretEnv())
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.HasSecrets() {
		t.Error("HasSecrets() = false for a config with inline secrets")
	}
	if string(cfg.Sources[0].BearerToken) != envToken || string(cfg.Sources[1].BasicAuth.Password) != envPass {
		t.Fatal("secrets were not loaded")
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "Redacted()", string(out))
	if n := strings.Count(string(out), secretPlaceholder); n != 6 {
		t.Errorf("want 6 %s placeholders, got %d:\n%s", secretPlaceholder, n, out)
	}
	// commoncfg.Secret is a plain string type, so fmt's %v of the struct
	// would print it: callers log Redacted(), never the struct. TargetConfig
	// errors must not leak either.
	for i := range cfg.Sources {
		if _, _, err := cfg.Sources[i].TargetConfig("ua"); err != nil {
			assertNoSecret(t, "TargetConfig error", err.Error())
		}
	}
}

func TestErrorsHideSecrets(t *testing.T) {
	const base = `
sources:
  - name: a
    url: http://a/metrics
    %s
sinks:
  - %s
`
	for _, c := range []struct{ source, sink string }{
		{"interval: '${TOK}'", ""},
		{"timeout: '${TOK}'", ""},
		{"sample_limit: '${TOK}'", ""},
		{"body_size_limit: '${TOK}'", ""},
		{"tls: { min_version: '${TOK}' }", ""},
		{"proxy_url: 'http://[${TOK}'", ""},
		{"honor_labels: '${TOK}'", ""},
		{"params: { p: '${TOK}' }", ""},
		{"target_series: '${TOK}'", ""},
		{"sinks: ['${TOK}']", ""},
		{"metrics_path: '${TOK}'", ""},
		{"labels: { l: '${TOK}', bad-name: x }", ""},
		{"bearer_token: '${TOK}'\n    bearer_token_file: /f", ""},
		{"basic_auth: { username: u, password: '${PW}', password_file: /f }", ""},
		{"bearer_tokn: " + fileSecret, ""},
		{"", "{ name: out, type: stdout, tokn: " + fileSecret + " }"},
		{"", "{ name: out, type: stdout, concurrency: '${TOK}' }"},
		{"", "{ name: out, type: stdout, flush_interval: '${PW}' }"},
		{"", "{ name: out, type: stdout, max_queue_bytes: '${KEY}' }"},
		{"", "{ name: out, type: '${TOK}' }"},
		{"", "{ name: '${TOK}', type: stdout }"},
		{"", "{ name: out, type: stdout, resend_after: '${PW}' }"},
	} {
		t.Run(c.source+c.sink, func(t *testing.T) {
			sink := c.sink
			if sink == "" {
				sink = "{ name: out, type: stdout }"
			}
			doc := fmt.Sprintf(base, c.source, sink)
			_, err := load("leak.yaml", []byte(doc), secretEnv())
			if err == nil {
				t.Fatalf("loaded without error:\n%s", doc)
			}
			if strings.Contains(err.Error(), "invalid YAML") {
				t.Fatalf("test document does not parse: %v", err)
			}
			assertNoSecret(t, "error", err.Error())
		})
	}
	// The same holds for the top-level keys.
	for _, doc := range []string{"server: { listen: '${TOK}' }", "shutdown_timeout: '${TOK}'", "dedupe: { enabled: '${TOK}' }", "data_dir: ['${TOK}']"} {
		_, err := load("leak.yaml", []byte(doc), secretEnv())
		if err == nil || strings.Contains(err.Error(), "invalid YAML") {
			t.Fatalf("want a decoding error for %s, got %v", doc, err)
		}
		assertNoSecret(t, "error", err.Error())
	}
}
