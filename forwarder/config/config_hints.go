package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Prometheus users paste their scrape and remote_write configs. The keys
// below are Prometheus' that promfwd does not take; an unknown key that is
// one of them says what to write instead. Keys promfwd takes under
// Prometheus' own name never reach these tables (only unknown keys do).
var (
	topLevelHints = map[string]string{
		"scrape_configs":      "promfwd has no scrape_configs: list targets under sources (one per URL, or discovered with *_sd_configs)",
		"remote_write":        "promfwd has no top-level remote_write: add a sink with type: remote_write under sinks",
		"remote_read":         "promfwd does not read; remove remote_read",
		"rule_files":          "promfwd evaluates no rules; remove rule_files",
		"alerting":            "promfwd sends no alerts; remove alerting",
		"storage":             "promfwd stores nothing but its queues; use data_dir",
		"scrape_config_files": "promfwd has no scrape_config_files: list targets under sources (url or *_sd_configs)",
	}
	globalHints = map[string]string{
		"evaluation_interval": "promfwd evaluates no rules; remove evaluation_interval",
		"external_labels":     "promfwd has no external_labels: set labels on each source",
	}
	sourceHints = map[string]string{
		"job_name":                 "use name (it becomes the job label)",
		"static_configs":           "a source with a url scrapes one target (http://host:port/metrics); list many with file_sd_configs or another *_sd_configs",
		"scrape_interval":          "use interval (default global.scrape_interval)",
		"scrape_timeout":           "use timeout (default global.scrape_timeout)",
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
		if strings.HasSuffix(key, "_sd_configs") {
			return "unknown field: of Prometheus' service discoveries promfwd has " + strings.Join(sdKeys(names), ", ") + "; have another discovery write a file_sd file"
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

// sdKeys picks the *_sd_configs keys out of a source's keys, sorted.
func sdKeys(names []string) []string {
	var out []string
	for _, n := range names {
		if strings.HasSuffix(n, "_sd_configs") {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}
