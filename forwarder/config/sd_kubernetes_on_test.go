//go:build !nokubernetes

package config

// kubernetesGoldens: none are skipped in the full build.
var kubernetesGoldens = map[string]bool{}
