package forwarder

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/promfwd/promfwd/forwarder/discovery/sdtest"
)

// TestConsulSDCatalogChanges: consul_sd_configs against a local agent
// speaking the catalog and health APIs with blocking queries: every
// service's instances are scraped with Consul's __meta_consul_* labels
// (relabel_configs keep only services tagged "metrics" and copy the
// service name); an instance deregistered, a service removed and a new one
// registered are picked up without a restart; a failing agent keeps the
// last targets and is logged once.
func TestConsulSDCatalogChanges(t *testing.T) {
	a, b, c := newFleet(t), newFleet(t), newFleet(t)
	agent := sdtest.NewConsul(t)
	inst := func(id string, fl *fleet, tags ...string) sdtest.ConsulInstance {
		return sdtest.ConsulInstance{ID: id, Node: "node-" + id, Address: "127.0.0.1", Port: int(portOf(t, fl.host())), Tags: tags}
	}
	agent.Set("web", inst("a", a, "metrics"), inst("b", b, "metrics"))
	agent.Set("cache", inst("x", c)) // not tagged: dropped by the rules
	rw := newRWCapture(t)
	r := runFleetConfig(t, "/etc/promfwd/promfwd.yaml", fmt.Sprintf(`
server: {listen: ""}
sources:
  - name: consul
    consul_sd_configs:
      - server: %s
        refresh_interval: 1s
    relabel_configs:
      - {source_labels: [__meta_consul_tags], regex: '.*,metrics,.*', action: keep}
      - {source_labels: [__meta_consul_service], target_label: service}
      - {source_labels: [__meta_consul_node], target_label: node}
    interval: 1s
sinks:
  - {name: rw, type: remote_write, url: %q, flush_interval: 100ms}
`, agent.Addr(), rw.URL()), "", Options{SDUpdateEvery: -1})
	targets := func(hosts ...string) []string { return targetNames("consul", hosts) }

	awaitCond(t, "a and b discovered", func() bool { return reflect.DeepEqual(r.f.Targets(), targets(a.host(), b.host())) })
	awaitCond(t, "a's series with Consul's labels", func() bool {
		return rw.has(map[string]string{"__name__": "fleet_up", "instance": a.host(), "job": "consul",
			"path": "/metrics", "service": "web", "node": "node-a"})
	})

	// b is deregistered; the untagged cache service gets the tag.
	agent.Set("web", inst("a", a, "metrics"))
	agent.Set("cache", inst("x", c, "metrics"))
	awaitCond(t, "a and c", func() bool { return reflect.DeepEqual(r.f.Targets(), targets(a.host(), c.host())) })
	awaitCond(t, "a stale marker for b", func() bool {
		return rw.staleFor(map[string]string{"__name__": "fleet_up", "instance": b.host(), "job": "consul"})
	})
	awaitCond(t, "c scraped", func() bool { return c.scraped("/metrics") })

	// The web service goes away altogether.
	agent.Set("web")
	awaitCond(t, "only c", func() bool { return reflect.DeepEqual(r.f.Targets(), targets(c.host())) })

	// The agent fails (no cluster leader): c stays, one warning.
	agent.Fail(true)
	awaitCond(t, "a failed Consul request", func() bool {
		return gatherValue(t, r.f.Registry(), "prometheus_sd_consul_rpc_failures_total", nil) >= 1
	})
	cCount := c.count("/metrics")
	awaitCond(t, "c still scraped", func() bool { return c.count("/metrics") >= cCount+2 })
	if got := r.f.Targets(); !reflect.DeepEqual(got, targets(c.host())) {
		t.Errorf("targets while Consul fails = %v, want the last good %v", got, targets(c.host()))
	}
	if n := r.logs.FilterMessageSnippet("discovery failing").Len(); n != 1 {
		t.Errorf("failing Consul logged %d times, want once", n)
	}
}
