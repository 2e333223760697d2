// Package forwarder is the running service: it schedules one scrape job per
// source (static, file_sd or sharded), fans each scrape out to per-sink
// runners, reloads config without losing queued data, and serves its
// self-metrics and health. The data path of one scrape:
//
//	scrape.Target.Scrape ──▶ name filter (keep/drop rules) ──▶ stale markers
//	  (state.Staleness) ──▶ per routed sink: admit = dedupe (state.Dedupe)
//	  under the checkpoint gate (state.Durable) ──▶ sinks.Runner: encode,
//	  queue, send ──▶ Splunk HEC / Datadog / remote-write / stdout
//
// (scrapejob.go, source.go, durable.go). A failed scrape sends stale
// markers for every series; an unchanged answer (conditional GET) replays
// the last samples, restamped.
// The config language is package config, durable memory package state, and
// the transform stage (relabel, aggregation) package transform. Nothing
// imports forwarder but cmd/promfwd and cmd/promfwd-bench.
package forwarder
