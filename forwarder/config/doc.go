// Package config is promfwd's configuration language: the model of the
// YAML file (sources, sinks, dedupe, shard, server), its strict decoder and
// encoder, ${VAR} expansion, defaults, validation with file:line:col errors
// (ConfigError), byte sizes, and the Prometheus file_sd file format. Load
// and LoadFile give a validated Config; Redacted renders it back with
// secrets hidden (`promfwd check`). It knows the sinks' Config types and
// scrape's target settings, and nothing of the running service.
package config
