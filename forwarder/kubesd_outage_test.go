//go:build !nokubernetes

package forwarder

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/promfwd/promfwd/internal/kubetest"
)

// TestKubernetesSDOutageKeepsTargets: while the API server answers 503
// (its watches cut), the discovered targets stay and are scraped; a pod
// deleted meanwhile goes, with stale markers, once the server is back.
func TestKubernetesSDOutageKeepsTargets(t *testing.T) {
	api := kubetest.NewServer(kubetest.Options{})
	t.Cleanup(api.Close)
	a, b := newFleet(t), newFleet(t)
	p1, p2 := kubePod("default", "p1", a, "/p1"), kubePod("default", "p2", b, "/p2")
	kubeApply(t, api, p1, p2)
	rw := newRWCapture(t)
	r := runFleetConfig(t, "/etc/promfwd/promfwd.yaml", fmt.Sprintf(`
server: {listen: ""}
sources:
  - name: pods
    interval: 1s
    kubernetes_sd_configs: [{role: pod, api_server: %q}]
%s
sinks:
  - {name: rw, type: remote_write, url: %q, flush_interval: 100ms}
`, api.URL(), kubeRecipe, rw.URL()), "", Options{SDUpdateEvery: -1})
	both := []string{"http://" + a.host() + "/p1", "http://" + b.host() + "/p2"}
	slices.Sort(both)
	onlyP2 := []string{"http://" + b.host() + "/p2"}
	awaitCond(t, "both pods discovered", func() bool { return fmt.Sprint(targetURLs(r.f)) == fmt.Sprint(both) })

	api.Fail(http.StatusServiceUnavailable)
	if _, err := api.Delete(p1); err != nil {
		t.Fatal(err)
	}
	awaitCond(t, "the client retried against the failing server", func() bool { return api.Stats().Failed >= 2 })
	n1 := a.count("/p1")
	awaitCond(t, "p1 still scraped during the outage", func() bool { return a.count("/p1") >= n1+2 })
	if got := fmt.Sprint(targetURLs(r.f)); got != fmt.Sprint(both) {
		t.Errorf("targets during the outage: %s, want %v", got, both)
	}

	api.Fail(0)
	awaitCond(t, "p1 gone once the API server is back", func() bool {
		return fmt.Sprint(targetURLs(r.f)) == fmt.Sprint(onlyP2)
	})
	awaitCond(t, "stale marker for p1", func() bool {
		return rw.staleFor(map[string]string{"__name__": "fleet_up", "pod": "p1"})
	})
}
