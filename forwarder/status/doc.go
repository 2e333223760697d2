// Package status owns promfwd's operator pages and their JSON twins: the
// overview (/), /targets, /sinks and /config, rendered server-side with
// html/template and no external assets, plus the in-memory history behind
// the per-sink charts. It knows nothing of the running service: the
// forwarder feeds it snapshots through the Source interface, so rendering
// never holds a lock that scraping or delivery needs.
package status
