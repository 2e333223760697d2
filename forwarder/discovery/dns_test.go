package discovery

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	promdisc "github.com/prometheus/prometheus/discovery"
	promdns "github.com/prometheus/prometheus/discovery/dns"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/promfwd/promfwd/forwarder/discovery/sdtest"
)

// addresses lists every target's __address__ per group source.
func addresses(groups []*targetgroup.Group) map[string][]string {
	out := map[string][]string{}
	for _, g := range groups {
		for _, t := range g.Targets {
			out[g.Source] = append(out[g.Source], string(t[model.AddressLabel]))
		}
		slices.Sort(out[g.Source])
	}
	return out
}

func dnsConf(typ string, port int, names ...string) *promdns.SDConfig {
	return &promdns.SDConfig{Names: names, Type: typ, Port: port, RefreshInterval: model.Duration(50 * time.Millisecond)}
}

// TestDNSSet: SRV, A and AAAA names are resolved against a local server
// with Prometheus' labels; changed answers change the groups; a server
// that fails keeps the last groups and is logged once.
func TestDNSSet(t *testing.T) {
	srv := sdtest.NewDNS(t)
	srv.Set("_m._tcp.svc.test", dns.TypeSRV, sdtest.SRV("127.0.0.1", 9100), sdtest.SRV("node-b.test", 9200))
	srv.Set("a.svc.test", dns.TypeA, sdtest.A("127.0.0.1"), sdtest.A("127.0.0.2"))
	srv.Set("v6.svc.test", dns.TypeAAAA, sdtest.AAAA("::1"))
	core, logs := observer.New(zapcore.InfoLevel)
	s, err := Start(context.Background(), "src", []promdisc.Config{
		dnsConf("SRV", 0, "_m._tcp.svc.test"),
		dnsConf("A", 8080, "a.svc.test"),
		dnsConf("AAAA", 8443, "v6.svc.test"),
	}, Options{Logger: zap.New(core), Metrics: NewMetrics(prometheus.NewRegistry()), DNS: srv.ClientConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	want := map[string][]string{
		"_m._tcp.svc.test": {"127.0.0.1:9100", "node-b.test:9200"},
		"a.svc.test":       {"127.0.0.1:8080", "127.0.0.2:8080"},
		"v6.svc.test":      {"[::1]:8443"},
	}
	sdtest.WaitFor(t, "every name resolved", func() bool { return equalMaps(addresses(s.Groups()), want) })
	for _, g := range s.Groups() {
		if g.Source != "_m._tcp.svc.test" {
			continue
		}
		for _, tg := range g.Targets {
			if tg["__meta_dns_name"] != "_m._tcp.svc.test" || tg["__meta_dns_srv_record_port"] == "" ||
				tg["__meta_dns_srv_record_target"] == "" {
				t.Errorf("SRV target labels = %v, want Prometheus' __meta_dns_*", tg)
			}
		}
	}

	// One SRV record goes; the A name vanishes (NXDOMAIN: no targets).
	srv.Set("_m._tcp.svc.test", dns.TypeSRV, sdtest.SRV("127.0.0.1", 9100))
	srv.Delete("a.svc.test", dns.TypeA)
	want = map[string][]string{"_m._tcp.svc.test": {"127.0.0.1:9100"}, "v6.svc.test": {"[::1]:8443"}}
	sdtest.WaitFor(t, "the changed answers", func() bool { return equalMaps(addresses(s.Groups()), want) })

	// The server fails: the groups stay; one warning for three discoverers
	// failing many times each... per discoverer, once.
	srv.Fail(true)
	q := srv.Queries()
	sdtest.WaitFor(t, "ten failed queries", func() bool { return srv.Queries() >= q+10 })
	if got := addresses(s.Groups()); !equalMaps(got, want) {
		t.Errorf("groups while the server fails = %v, want the last good %v", got, want)
	}
	if n := logs.FilterMessageSnippet("discovery failing").Len(); n == 0 || n > 3 {
		t.Errorf("failures logged %d times, want at most once per discoverer (3)", n)
	}
	for _, e := range logs.FilterMessageSnippet("discovery failing").All() {
		if e.Level != zapcore.WarnLevel || e.ContextMap()["discovery"] != "dns_sd" {
			t.Errorf("failure log = %s %v, want a warning naming dns_sd", e.Level, e.ContextMap())
		}
	}
	if n := logs.FilterMessageSnippet("discovery working again").Len(); n != 0 {
		t.Errorf("recovery logged %d times while every lookup failed", n)
	}
	srv.Fail(false)
	sdtest.WaitFor(t, "recovery logged", func() bool { return logs.FilterMessageSnippet("discovery working again").Len() > 0 })
}

func equalMaps(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// sdtestUnreachable is a resolver that no server answers quickly: a
// closed port on 127.0.0.1.
func sdtestUnreachable() *DNSClientConfig {
	return &DNSClientConfig{Servers: []string{"127.0.0.1"}, Port: "1", Ndots: 1}
}
