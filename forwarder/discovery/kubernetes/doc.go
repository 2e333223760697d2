// Package kubernetes is kubernetes_sd_configs without client-go: the
// roles pod, service, endpoints, endpointslice, node and ingress with
// Prometheus' keys, validation, target groups, sources and
// __meta_kubernetes_* labels (prometheus/discovery/kubernetes, Apache-2.0,
// is the reference; the differential test runs both against one API
// server), over a small client of its own: net/http and encoding/json into
// structs holding only the fields the roles read, list then watch per
// resource and namespace, relist after 410 Gone, reconnect with backoff.
// client-go's clientset and typed API objects were most of promfwd's
// binary and stayed resident whether or not a source used them.
package kubernetes
