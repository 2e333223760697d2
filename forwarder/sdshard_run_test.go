package forwarder

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/promfwd/promfwd/forwarder/discovery/sdtest"
)

// TestShardsCoverDiscoveredTargetsOnce: three replicas discover the same
// 30 targets (20 from HTTP SD, 10 from DNS SRV records, each rewritten by
// relabel_configs to a path on one fleet server) and split them, either
// with shard {count: 3, index} or with Prometheus' hashmod + keep in
// relabel_configs: every target is scraped, each by exactly one replica.
func TestShardsCoverDiscoveredTargetsOnce(t *testing.T) {
	for _, mode := range []string{"shard", "hashmod"} {
		t.Run(mode, func(t *testing.T) { testShardDiscovered(t, mode) })
	}
}

func testShardDiscovered(t *testing.T, mode string) {
	fl := newFleet(t)
	sd := newHTTPSD(t)
	sd.mu.Lock()
	for i := range 20 {
		sd.list = append(sd.list, map[string]any{"targets": []string{fmt.Sprintf("h-%d.invalid:9100", i)},
			"labels": map[string]string{"__metrics_path__": fmt.Sprintf("/http/%d", i)}})
	}
	sd.mu.Unlock()
	ns := sdtest.NewDNS(t)
	var srvs []dns.RR
	for i := range 10 {
		srvs = append(srvs, sdtest.SRV(fmt.Sprintf("d-%d.invalid", i), 9100))
	}
	ns.Set("_m._tcp.fleet.test", dns.TypeSRV, srvs...)
	want := map[string]bool{}
	for i := range 20 {
		want[fmt.Sprintf("/http/%d", i)] = true
	}
	for i := range 10 {
		want[fmt.Sprintf("/dns/d-%d.invalid.", i)] = true
	}

	yamlFor := func(replica int) string {
		var b strings.Builder
		b.WriteString("server: {listen: \"\"}\n")
		if mode == "shard" {
			b.WriteString("shard:\n  count: 3\n  index: ${REPLICA}\n")
		}
		// hashmod keeps this replica's third, by the discovered address.
		split := ""
		if mode == "hashmod" {
			split = fmt.Sprintf(`
      - {source_labels: [__address__], modulus: 3, target_label: __tmp_hash, action: hashmod}
      - {source_labels: [__tmp_hash], regex: "%d", action: keep}`, replica)
		}
		fmt.Fprintf(&b, `sources:
  - name: http
    http_sd_configs: [{url: %q, refresh_interval: 1s}]
    interval: 1s
    headers: {X-Replica: "${REPLICA}"}
    relabel_configs:%s
      - {target_label: __address__, replacement: %q}
  - name: dns
    dns_sd_configs: [{names: [_m._tcp.fleet.test], refresh_interval: 1s}]
    interval: 1s
    headers: {X-Replica: "${REPLICA}"}
    relabel_configs:%s
      - {source_labels: [__meta_dns_srv_record_target], target_label: __metrics_path__, replacement: "/dns/$1"}
      - {target_label: __address__, replacement: %q}
sinks: [{name: out, type: stdout, max_request_bytes: 65536}]
`, sd.srv.URL+"/targets", split, fl.host(), split, fl.host())
		return b.String()
	}

	replicas := runReplicas(t, yamlFor, Options{SDUpdateEvery: -1, DNS: ns.ClientConfig()})
	// By URL: target names number same-address targets (#2, #3) in the
	// order each replica keeps them, so with hashmod they differ.
	owners := func() map[string][]int {
		owned := map[string][]int{}
		for i, r := range replicas {
			r.f.mu.Lock()
			for _, sj := range r.f.sources {
				owned[sj.src.target.URL()] = append(owned[sj.src.target.URL()], i)
			}
			r.f.mu.Unlock()
		}
		return owned
	}
	awaitCond(t, "30 targets discovered across the replicas", func() bool { return len(owners()) == 30 })
	perReplica := make([]int, 3)
	for n, rs := range owners() {
		if len(rs) != 1 {
			t.Errorf("target %s owned by replicas %v", n, rs)
		}
		perReplica[rs[0]]++
	}
	fl.awaitScraped(t, "every target scraped", want)
	fl.stopThenCheckScrapedOnce(t, replicas, want)
	t.Logf("targets per replica: %v", perReplica)
}
