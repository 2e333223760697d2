//go:build nokubernetes

package config

import "github.com/prometheus/prometheus/discovery"

// KubernetesSD is empty in a build without Kubernetes discovery
// (-tags nokubernetes; see sd_kubernetes.go): kubernetes_sd_configs is an
// unknown key, and client-go is not linked.
type KubernetesSD struct{}

func (KubernetesSD) discoverers() []discovery.Config { return nil }

func (KubernetesSD) validate(func(msg string, keys ...any) error) error { return nil }
