//go:build nokubernetes

package config

import "github.com/prometheus/prometheus/discovery"

// KubernetesSD in a build without Kubernetes discovery (-tags nokubernetes;
// see sd_kubernetes.go): forwarder/discovery/kubernetes is not linked, and a source that asks
// for kubernetes_sd_configs is told so at the key, not that the key is
// unknown.
type KubernetesSD struct {
	KubernetesSDConfigs []any `yaml:"kubernetes_sd_configs,omitempty"`
}

func (KubernetesSD) discoverers() []discovery.Config { return nil }

func (k KubernetesSD) validate(at func(msg string, keys ...any) error) error {
	if len(k.KubernetesSDConfigs) == 0 {
		return nil
	}
	return at("this promfwd was built without Kubernetes discovery (-tags nokubernetes); use a build without that tag", "kubernetes_sd_configs")
}
