package forwarder

import (
	"fmt"
	"net"
	"reflect"
	"strconv"
	"testing"

	"github.com/miekg/dns"

	"github.com/promfwd/promfwd/forwarder/discovery/sdtest"
)

func portOf(t *testing.T, hostport string) uint16 {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	return uint16(n)
}

// TestDNSSDSRVAndA: dns_sd_configs against a DNS server started here: SRV
// records give host:port targets, A records the address with the config's
// port; both carry __meta_dns_name for relabel_configs; a record that goes
// away stops its target with stale markers.
func TestDNSSDSRVAndA(t *testing.T) {
	a, b, c := newFleet(t), newFleet(t), newFleet(t)
	srv := sdtest.NewDNS(t)
	srv.Set("_metrics._tcp.web.test", dns.TypeSRV, sdtest.SRV("127.0.0.1", portOf(t, a.host())), sdtest.SRV("127.0.0.1", portOf(t, b.host())))
	srv.Set("db.test", dns.TypeA, sdtest.A("127.0.0.1"))
	rw := newRWCapture(t)
	r := runFleetConfig(t, "/etc/promfwd/promfwd.yaml", fmt.Sprintf(`
server: {listen: ""}
sources:
  - name: web
    dns_sd_configs:
      - names: [_metrics._tcp.web.test]
        refresh_interval: 1s
      - names: [db.test]
        type: A
        port: %d
        refresh_interval: 1s
    relabel_configs:
      - {source_labels: [__meta_dns_name], target_label: dns_name}
    interval: 1s
sinks:
  - {name: rw, type: remote_write, url: %q, flush_interval: 100ms}
`, portOf(t, c.host()), rw.URL()), "", Options{SDUpdateEvery: -1, DNS: srv.ClientConfig()})
	targets := func(hosts ...string) []string { return targetNames("web", hosts) }

	awaitCond(t, "a, b (SRV) and c (A) scraped", func() bool {
		return a.scraped("/metrics") && b.scraped("/metrics") && c.scraped("/metrics")
	})
	for _, want := range []map[string]string{
		{"__name__": "fleet_up", "instance": a.host(), "job": "web", "path": "/metrics", "dns_name": "_metrics._tcp.web.test"},
		{"__name__": "fleet_up", "instance": c.host(), "job": "web", "path": "/metrics", "dns_name": "db.test"},
	} {
		awaitCond(t, fmt.Sprint("series ", want), func() bool { return rw.has(want) })
	}

	// a's SRV record goes, then the A name.
	srv.Set("_metrics._tcp.web.test", dns.TypeSRV, sdtest.SRV("127.0.0.1", portOf(t, b.host())))
	srv.Delete("db.test", dns.TypeA)
	awaitCond(t, "only b left", func() bool { return reflect.DeepEqual(r.f.Targets(), targets(b.host())) })
	for _, h := range []string{a.host(), c.host()} {
		awaitCond(t, "a stale marker for "+h, func() bool {
			return rw.staleFor(map[string]string{"__name__": "fleet_up", "instance": h, "job": "web"})
		})
	}
}
