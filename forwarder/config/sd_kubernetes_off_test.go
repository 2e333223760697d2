//go:build nokubernetes

package config

import (
	"strings"
	"testing"
)

// TestKubernetesSDOff: built with -tags nokubernetes, kubernetes_sd_configs
// is an unknown key, reported at its position.
func TestKubernetesSDOff(t *testing.T) {
	_, err := load("p.yaml", []byte("sources:\n  - name: pods\n    kubernetes_sd_configs: [{role: pod}]\nsinks:\n  - {name: out, type: stdout}\n"), testEnv(nil))
	if err == nil || !strings.Contains(err.Error(), "p.yaml:3:5: sources[0].kubernetes_sd_configs: unknown field") {
		t.Errorf("err = %v", err)
	}
}
