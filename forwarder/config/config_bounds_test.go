package config

import (
	"errors"
	"strings"
	"testing"
)

// boundsDoc is a valid config; top is prepended, src is added to the
// source's keys and sink (YAML lines at sink-key indent) to the sink's.
func boundsDoc(top, src, sinkType, sink string) string {
	return top + `sources:
  - name: a
    url: http://a/metrics
` + src + `sinks:
  - name: out
    type: ` + sinkType + `
` + sink
}

// TestLoadSizingBounds (issue 21.12): every sizing key has an upper bound,
// reported at the key's line and column like the other validation errors.
// Before, concurrency 1000000 was accepted (and reached 3.2 GB in 5 s).
func TestLoadSizingBounds(t *testing.T) {
	hecSink := "    url: https://splunk:8088\n    token: t0k3n\n"
	rw := "    url: http://prom:9090/api/v1/write\n"
	dd := "    api_key: k3y\n"
	cases := []struct {
		name, doc, want string
	}{
		{"concurrency", boundsDoc("", "", "stdout", "    concurrency: 1000000\n"),
			"bounds.yaml:7:18: sinks[0].concurrency: 1000000 is above the maximum 256"},
		{"max_batch_samples", boundsDoc("", "", "stdout", "    max_batch_samples: 2000000\n    max_pending_samples: 3000000\n"),
			"bounds.yaml:7:24: sinks[0].max_batch_samples: 2000000 is above the maximum 1000000"},
		{"batch above pending", boundsDoc("", "", "stdout", "    max_batch_samples: 20000\n    max_pending_samples: 10000\n"),
			"bounds.yaml:7:24: sinks[0].max_batch_samples: 20000 is above max_pending_samples 10000: a batch could never fill"},
		{"max_pending_samples", boundsDoc("", "", "stdout", "    max_pending_samples: 1000000000\n"),
			"bounds.yaml:7:26: sinks[0].max_pending_samples: 1000000000 is above the maximum 50000000"},
		{"memory queue", boundsDoc("", "", "stdout", "    max_queue_bytes: 64GiB\n"),
			"bounds.yaml:7:22: sinks[0].max_queue_bytes: 64GiB is above the maximum 16GiB"},
		{"disk queue", boundsDoc("data_dir: /tmp/x\n", "", "stdout", "    max_queue_bytes: 2TiB\n"),
			"bounds.yaml:8:22: sinks[0].max_queue_bytes: 2TiB is above the maximum 1TiB"},
		{"flush_interval", boundsDoc("", "", "stdout", "    flush_interval: 1h\n"),
			"bounds.yaml:7:21: sinks[0].flush_interval: 1h is above the maximum 5m"},
		{"max_backoff", boundsDoc("", "", "stdout", "    max_backoff: 2h\n"),
			"bounds.yaml:7:18: sinks[0].max_backoff: 2h is above the maximum 1h"},
		{"sink resend_after", boundsDoc("", "", "stdout", "    resend_after: 60d\n"),
			"bounds.yaml:7:19: sinks[0].resend_after: 60d is above the maximum 30d"},
		{"hec max_request_bytes", boundsDoc("", "", "hec", hecSink+"    max_request_bytes: 1073741824\n"),
			"bounds.yaml:9:24: sinks[0].max_request_bytes: 1GiB is above the maximum 800MiB"},
		{"hec max_events", boundsDoc("", "", "hec", hecSink+"    max_events: 5000000\n"),
			"bounds.yaml:9:17: sinks[0].max_events: 5000000 is above the maximum 1000000"},
		{"hec ack.timeout", boundsDoc("", "", "hec", hecSink+"    ack: { enabled: true, timeout: 48h }\n"),
			"bounds.yaml:9:36: sinks[0].ack.timeout: 2d is above the maximum 1d"},
		{"remote_write max_samples_per_send", boundsDoc("", "", "remote_write", rw+"    max_samples_per_send: 10000000\n"),
			"bounds.yaml:8:27: sinks[0].max_samples_per_send: 10000000 is above the maximum 1000000"},
		{"datadog timeout", boundsDoc("", "", "datadog", dd+"    timeout: 1h\n"),
			"bounds.yaml:8:14: sinks[0].timeout: 1h is above the maximum 10m"},
		{"source interval", boundsDoc("", "    interval: 30d\n", "stdout", ""),
			"bounds.yaml:4:15: sources[0].interval: 30d is above the maximum 1d"},
		{"shutdown_timeout", boundsDoc("shutdown_timeout: 2h\n", "", "stdout", ""),
			"bounds.yaml:1:19: shutdown_timeout: 2h is above the maximum 1h"},
		{"dedupe resend_after", boundsDoc("dedupe: { enabled: true, resend_after: 1y }\n", "", "stdout", ""),
			"bounds.yaml:1:40: dedupe.resend_after: 1y is above the maximum 30d"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load("bounds.yaml", []byte(tc.doc), testEnv(nil))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *ConfigError\n%s", err, tc.doc)
			}
			if err.Error() != tc.want {
				t.Errorf("err = %q\nwant  %q", err, tc.want)
			}
		})
	}
}

// TestLoadSizingBoundsInclusive: every key at its maximum loads.
func TestLoadSizingBoundsInclusive(t *testing.T) {
	docs := []string{
		boundsDoc("shutdown_timeout: 1h\ndedupe: { enabled: true, resend_after: 30d }\n", "    interval: 1d\n    timeout: 10s\n", "stdout",
			"    concurrency: 256\n    max_batch_samples: 1000000\n    max_pending_samples: 50000000\n    max_queue_bytes: 16GiB\n    flush_interval: 5m\n    max_backoff: 1h\n"),
		boundsDoc("data_dir: /tmp/x\n", "", "hec", "    url: https://splunk:8088\n    token: t\n    max_queue_bytes: 1TiB\n    max_request_bytes: 838860800\n    max_events: 1000000\n    ack: { enabled: true, poll_interval: 5m, timeout: 24h }\n"),
		boundsDoc("", "", "remote_write", "    url: http://prom:9090/api/v1/write\n    max_samples_per_send: 1000000\n    timeout: 10m\n"),
	}
	for i, doc := range docs {
		if _, err := load("ok.yaml", []byte(doc), testEnv(nil)); err != nil {
			t.Errorf("doc %d: %v\n%s", i, err, strings.TrimSpace(doc))
		}
	}
}
