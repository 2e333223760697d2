package config

import (
	"fmt"
	"regexp"
	"strings"
)

// Prometheus users paste their scrape and remote_write configs. The keys
// below are Prometheus' that promfwd does not take; an unknown key that is
// one of them says what to write instead. Keys promfwd takes under
// Prometheus' own name never reach these tables (only unknown keys do).
var (
	topLevelHints = map[string]string{
		"scrape_configs":      "promfwd has no scrape_configs: list targets under sources (one per URL, or a file_sd source for many)",
		"remote_write":        "promfwd has no top-level remote_write: add a sink with type: remote_write under sinks",
		"remote_read":         "promfwd does not read; remove remote_read",
		"rule_files":          "promfwd evaluates no rules; remove rule_files",
		"alerting":            "promfwd sends no alerts; remove alerting",
		"storage":             "promfwd stores nothing but its queues; use data_dir",
		"scrape_config_files": "promfwd has no scrape_config_files: list targets under sources, or use a file_sd source",
	}
	globalHints = map[string]string{
		"evaluation_interval": "promfwd evaluates no rules; remove evaluation_interval",
		"external_labels":     "promfwd has no external_labels: set labels on each source",
	}
	sourceHints = map[string]string{
		"job_name":                 "use name (it becomes the job label)",
		"static_configs":           "promfwd scrapes one target per source: put it in url (http://host:port/metrics), or list many in a file_sd source",
		"scrape_interval":          "use interval (default global.scrape_interval)",
		"scrape_timeout":           "use timeout (default global.scrape_timeout)",
		"file_sd_configs":          "use file_sd: {files: [...], refresh_interval: 5m}",
		"tls_config":               "use tls (same keys: ca_file, cert_file, key_file, server_name, insecure_skip_verify)",
		"authorization":            "use bearer_token or bearer_token_file",
		"oauth2":                   "OAuth2 is not supported; use bearer_token_file with a token refreshed by another tool",
		"body_size_limit":          "use limits.body_bytes",
		"label_name_length_limit":  "use limits.label_name_length",
		"label_value_length_limit": "use limits.label_value_length",
		"target_limit":             "not supported: each source is one target",
		"relabel_configs_file":     "not supported",
	}
	sinkHints = map[string]string{
		"queue_config":   "use the sink's own keys: max_batch_samples, flush_interval, max_queue_bytes, concurrency, max_backoff (and max_samples_per_send, shards for remote_write)",
		"remote_timeout": "use timeout",
		"tls_config":     "use tls",
		"authorization":  "use bearer_token or bearer_token_file",
		"oauth2":         "OAuth2 is not supported; use bearer_token_file with a token refreshed by another tool",
		"sigv4":          "SigV4 is not supported",
		"azuread":        "Azure AD auth is not supported",
	}
	sourcePath = regexp.MustCompile(`^sources\[\d+\]$`)
	sinkPath   = regexp.MustCompile(`^sinks\[\d+\]$`)
)

// unknownFieldMsg explains an unknown key at path (the enclosing mapping's
// path): what to use instead for a Prometheus key, else a did-you-mean from
// names, the keys accepted there.
func unknownFieldMsg(path, key string, names []string) string {
	var hints map[string]string
	switch {
	case path == "":
		hints = topLevelHints
	case path == "global":
		hints = globalHints
	case sourcePath.MatchString(path):
		hints = sourceHints
		if strings.HasSuffix(key, "_sd_configs") && key != "file_sd_configs" {
			return "unknown field: of Prometheus' service discoveries promfwd has only file_sd; have your discovery write a file_sd file"
		}
	case sinkPath.MatchString(path):
		hints = sinkHints
	}
	if h, ok := hints[key]; ok {
		return "unknown field (a Prometheus key): " + h
	}
	msg := "unknown field"
	if s := suggest(key, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg
}
