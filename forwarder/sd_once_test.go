package forwarder

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/promfwd/promfwd/forwarder/discovery/sdtest"
)

// TestOnceDiscovers: `promfwd once` waits for each discoverer's first
// answer and scrapes what it found (HTTP SD and DNS SD targets), so it
// shows what `run` would send for discovered targets too.
func TestOnceDiscovers(t *testing.T) {
	a, b := newFleet(t), newFleet(t)
	sd := newHTTPSD(t)
	sd.set("web", a.host())
	ns := sdtest.NewDNS(t)
	ns.Set("_m._tcp.b.test", dns.TypeSRV, sdtest.SRV("127.0.0.1", portOf(t, b.host())))
	cfg, _ := loadRunConfig(t, fmt.Sprintf(`
server: {listen: ""}
sources:
  - name: web
    http_sd_configs: [{url: %q}]
  - name: srv
    dns_sd_configs: [{names: [_m._tcp.b.test]}]
sinks:
  - {name: console, type: stdout}
`, sd.srv.URL+"/targets"))
	f, err := New(cfg, Options{DNS: ns.ClientConfig()})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := f.Once(context.Background(), &out, ""); err != nil {
		t.Fatalf("Once: %v\n%s", err, out.String())
	}
	for _, want := range []string{`"instance":"` + a.host() + `"`, `"instance":"` + b.host() + `"`, `"job":"web"`, `"job":"srv"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("once output lacks %s:\n%s", want, out.String())
		}
	}
	if !a.scraped("/metrics") || !b.scraped("/metrics") {
		t.Error("discovered targets not scraped")
	}
}
