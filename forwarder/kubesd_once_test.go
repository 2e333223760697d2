//go:build !nokubernetes

package forwarder

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/promfwd/promfwd/internal/kubetest"
)

// TestOnceKubernetesSDAllPods: `promfwd once` scrapes every annotated pod,
// not only those the Kubernetes discoverer had sent when it first
// answered (it sends one pod at a time as its informer's queue drains).
func TestOnceKubernetesSDAllPods(t *testing.T) {
	api := kubetest.NewServer(kubetest.Options{})
	t.Cleanup(api.Close)
	fl := newFleet(t)
	const pods = 200
	for i := range pods {
		kubeApply(t, api, kubePod("ns", fmt.Sprintf("pod-%d", i), fl, fmt.Sprintf("/pod/%d", i)))
	}
	cfg, _ := loadRunConfig(t, fmt.Sprintf(`
server: {listen: ""}
sources:
  - name: pods
    kubernetes_sd_configs: [{role: pod, api_server: %q}]
%s
sinks:
  - {name: console, type: stdout}
`, api.URL(), kubeRecipe))
	f, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Once(context.Background(), io.Discard, ""); err != nil {
		t.Fatalf("Once: %v", err)
	}
	missed := 0
	for i := range pods {
		if !fl.scraped(fmt.Sprintf("/pod/%d", i)) {
			missed++
		}
	}
	if missed > 0 {
		t.Errorf("once scraped %d of %d annotated pods", pods-missed, pods)
	}
}
