//go:build nokubernetes

package config

import (
	"strings"
	"testing"
)

// TestKubernetesSDOff: built with -tags nokubernetes, kubernetes_sd_configs
// is refused at its position with the reason, not as an unknown key.
func TestKubernetesSDOff(t *testing.T) {
	_, err := load("p.yaml", []byte("sources:\n  - name: pods\n    kubernetes_sd_configs: [{role: pod}]\nsinks:\n  - {name: out, type: stdout}\n"), testEnv(nil))
	if err == nil || !strings.Contains(err.Error(), "p.yaml:3:28: sources[0].kubernetes_sd_configs: this promfwd was built without Kubernetes discovery") {
		t.Errorf("err = %v", err)
	}
}

// kubernetesGoldens are the bad-config goldens written by the full build:
// their expected errors name Kubernetes discovery's own checks.
var kubernetesGoldens = map[string]bool{"sd_kubernetes.yaml": true, "prometheus_keys.yaml": true}
