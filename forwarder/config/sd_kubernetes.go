//go:build !nokubernetes

package config

import (
	"fmt"
	"strings"

	"github.com/prometheus/prometheus/discovery"

	"github.com/promfwd/promfwd/forwarder/discovery/kubernetes"
)

// KubernetesSD is kubernetes_sd_configs, inlined into SDConfigs: promfwd's
// own Kubernetes discovery (forwarder/discovery/kubernetes) with
// Prometheus' keys, targets and labels (roles pod, endpoints,
// endpointslice, service, node and ingress; namespaces; selectors;
// attach_metadata), talking to the API server in-cluster (the pod's
// ServiceAccount), through a kubeconfig_file, or at api_server with the
// HTTP client keys.
//
// `go build -tags nokubernetes` still leaves it out (sd_kubernetes_off.go),
// and kubernetes_sd_configs is then refused at its key.
type KubernetesSD struct {
	KubernetesSDConfigs []*kubernetes.SDConfig `yaml:"kubernetes_sd_configs,omitempty"`
}

func (k KubernetesSD) discoverers() []discovery.Config {
	return appendConfigs(nil, k.KubernetesSDConfigs)
}

// validate checks what Prometheus' UnmarshalYAML (run while decoding, for
// role, auth exclusivity and selector syntax) lets through but cannot
// work at run time.
func (k KubernetesSD) validate(at func(msg string, keys ...any) error) error {
	var errs collect
	for j, c := range k.KubernetesSDConfigs {
		if c == nil {
			continue // its decoding error is reported
		}
		if u := c.APIServer.URL; u != nil && ((u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			errs.add(at(fmt.Sprintf("api_server %q: want http(s)://host[:port]", u.Redacted()), "kubernetes_sd_configs", j, "api_server"))
		}
		seen := map[string]bool{}
		for n, name := range c.NamespaceDiscovery.Names {
			switch {
			case strings.TrimSpace(name) == "":
				errs.add(at("empty namespace name", "kubernetes_sd_configs", j, "namespaces", "names", n))
			case seen[name]:
				// Each name gets its own watch: a repeat doubles the load
				// for nothing.
				errs.add(at(fmt.Sprintf("namespace %q listed twice", name), "kubernetes_sd_configs", j, "namespaces", "names", n))
			}
			seen[name] = true
		}
	}
	return errs.err()
}
