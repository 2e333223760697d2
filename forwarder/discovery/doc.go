// Package discovery runs Prometheus' service discovery mechanisms for
// promfwd's sources: one Set per source runs the discoverers of its
// *_sd_configs (prometheus/prometheus/discovery/http, dns, consul, ...),
// keeps the last target groups each one sent, and tells its owner when the
// merged groups change. A discoverer that fails keeps its last good groups
// (Prometheus' discoverers send nothing on failure) and its failures are
// logged once, not on every refresh. Metrics of the mechanisms are
// registered once per registry (Metrics), so reloads never register twice.
package discovery
