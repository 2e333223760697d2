package main

import (
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestCheckPrintsEveryDefault loads a minimal config with one sink of each
// HTTP type and asserts that `check` prints every defaulted key: the README
// promises the effective config "with every default filled in".
func TestCheckPrintsEveryDefault(t *testing.T) {
	t.Setenv("PROMFWD_CONFIG", "")
	path := writeFile(t, t.TempDir(), "min.yaml", `
sources:
  - name: a
    url: http://localhost:9100/metrics
sinks:
  - name: h
    type: hec
    url: http://localhost:8088
    token: x
  - name: d
    type: datadog
    api_key: k
  - name: r
    type: remote_write
    url: http://localhost:9090/api/v1/write
  - name: s
    type: stdout
`)
	code, out, errOut := runCLI("check", "-config", filepath.Clean(path))
	if code != 0 {
		t.Fatalf("check: exit %d: %s", code, errOut)
	}
	var got struct {
		Top     map[string]any   `yaml:",inline"`
		Sources []map[string]any `yaml:"sources"`
		Sinks   []map[string]any `yaml:"sinks"`
	}
	if err := yaml.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("check output is not YAML: %v\n%s", err, out)
	}
	need := func(where string, m map[string]any, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: check output lacks the default of %q:\n%s", where, k, out)
			}
		}
	}
	need("top level", got.Top, "data_dir", "shutdown_timeout", "server", "global", "dedupe")
	need("sources[0]", got.Sources[0], "interval", "timeout", "honor_labels", "honor_timestamps", "target_series",
		"body_size_limit", "sample_limit", "label_limit", "label_name_length_limit", "label_value_length_limit")
	delivery := []string{"max_batch_samples", "flush_interval", "max_pending_samples", "max_queue_bytes",
		"concurrency", "max_backoff", "resend_after"}
	perType := map[string][]string{
		"hec":          {"gzip", "max_request_bytes", "max_events", "timeout", "ack"},
		"datadog":      {"site", "compression", "send_counters_as", "counter_state_ttl", "interval", "timeout"},
		"remote_write": {"timeout", "max_samples_per_send", "shards"},
		"stdout":       {"max_request_bytes"},
	}
	if len(got.Sinks) != 4 {
		t.Fatalf("want 4 sinks, got %d:\n%s", len(got.Sinks), out)
	}
	for _, s := range got.Sinks {
		typ, _ := s["type"].(string)
		need("sink "+typ, s, delivery...)
		need("sink "+typ, s, perType[typ]...)
	}
	// The inherited heartbeat is dedupe.resend_after, but remote_write
	// sends every scrape.
	if v := got.Sinks[0]["resend_after"]; v != "4m" {
		t.Errorf("sinks[0].resend_after = %v, want the inherited 4m", v)
	}
	if v := got.Sinks[2]["resend_after"]; v != "0s" {
		t.Errorf("remote_write resend_after = %v, want 0s", v)
	}
}

// TestCheckReportsEveryError: a file with three problems in three places
// gets three lines, each naming file:line:col, not only the first.
func TestCheckReportsEveryError(t *testing.T) {
	t.Setenv("PROMFWD_CONFIG", "")
	path := writeFile(t, t.TempDir(), "three.yaml", `shutdown_timeout: 0s
sources:
  - name: node
    url: localhost:9100/metrics
sinks:
  - name: out
    type: stdout
    max_batch_samples: -5
`)
	code, _, errOut := runCLI("check", "-config", path)
	want := "promfwd check: " + path + ":1:19: shutdown_timeout: must be greater than 0\n" +
		"promfwd check: " + path + ":4:10: sources[0].url: url has no scheme: start it with http://, https:// or unix://\n" +
		"promfwd check: " + path + ":8:24: sinks[0].max_batch_samples: must not be negative\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
}

// TestCheckReportsMissingCredentialFiles: check reports every credential
// file it cannot read, for sources and sinks alike, at its key (run would
// start with them and report the source or sink unhealthy).
func TestCheckReportsMissingCredentialFiles(t *testing.T) {
	t.Setenv("PROMFWD_CONFIG", "")
	dir := t.TempDir()
	present := writeFile(t, dir, "present", "x\n")
	path := writeFile(t, dir, "creds.yaml", `sources:
  - name: a
    url: https://localhost:9100/metrics
    bearer_token_file: `+dir+`/nope1
  - name: b
    url: https://localhost:9101/metrics
    basic_auth:
      username: u
      password_file: `+dir+`/nope2
    tls:
      ca_file: `+present+`
sinks:
  - name: splunk
    type: hec
    url: http://localhost:8088
    token_file: `+dir+`/nope3
  - name: dd
    type: datadog
    api_key_file: `+present+`
`)
	code, _, errOut := runCLI("check", "-config", path)
	want := "promfwd check: " + path + ":4:24: sources[0].bearer_token_file: cannot read the file: no such file or directory\n" +
		"promfwd check: " + path + ":9:22: sources[1].basic_auth.password_file: cannot read the file: no such file or directory\n" +
		"promfwd check: " + path + ":16:17: sinks[0].token_file: cannot read the file: no such file or directory\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
}
