package sdtest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// DNS is a DNS server on 127.0.0.1 (UDP). It answers the records set for
// a name and type, NXDOMAIN for an unknown name, and SERVFAIL for every
// query while failing.
type DNS struct {
	srv  *dns.Server
	port string

	mu      sync.Mutex
	records map[string][]dns.RR // by "name.|TYPE"
	failing bool
	queries int
}

// NewDNS starts a server; it stops when the test ends.
func NewDNS(t testing.TB) *DNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sdtest: dns listen: %v", err)
	}
	d := &DNS{records: map[string][]dns.RR{}}
	_, d.port, _ = net.SplitHostPort(pc.LocalAddr().String())
	started := make(chan struct{})
	d.srv = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(d.serve), NotifyStartedFunc: func() { close(started) }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.srv.ActivateAndServe()
	}()
	<-started
	t.Cleanup(func() {
		_ = d.srv.Shutdown()
		<-done
	})
	return d
}

// ClientConfig is a resolver configuration that asks only this server.
func (d *DNS) ClientConfig() *dns.ClientConfig {
	return &dns.ClientConfig{Servers: []string{"127.0.0.1"}, Port: d.port, Ndots: 1, Timeout: 5, Attempts: 1}
}

// Set makes the server answer name's queries of qtype with rrs (none: an
// empty answer).
func (d *DNS) Set(name string, qtype uint16, rrs ...dns.RR) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.records[key(name, qtype)] = rrs
}

// Delete forgets name's records of qtype: queries get NXDOMAIN.
func (d *DNS) Delete(name string, qtype uint16) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.records, key(name, qtype))
}

// Fail makes every query fail (SERVFAIL) until Fail(false).
func (d *DNS) Fail(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failing = on
}

// Queries is how many queries the server answered.
func (d *DNS) Queries() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries
}

func key(name string, qtype uint16) string {
	return strings.ToLower(dns.Fqdn(name)) + "|" + dns.TypeToString[qtype]
}

func (d *DNS) serve(w dns.ResponseWriter, req *dns.Msg) {
	d.mu.Lock()
	d.queries++
	m := new(dns.Msg)
	m.SetReply(req)
	switch {
	case d.failing:
		m.Rcode = dns.RcodeServerFailure
	case len(req.Question) != 1:
		m.Rcode = dns.RcodeFormatError
	default:
		q := req.Question[0]
		rrs, ok := d.records[key(q.Name, q.Qtype)]
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		for _, rr := range rrs {
			rr = dns.Copy(rr)
			rr.Header().Name = q.Name
			m.Answer = append(m.Answer, rr)
		}
	}
	d.mu.Unlock()
	_ = w.WriteMsg(m)
}

// SRV is an SRV record pointing at target:port.
func SRV(target string, port uint16) dns.RR {
	return &dns.SRV{Hdr: dns.RR_Header{Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 1},
		Priority: 1, Weight: 1, Port: port, Target: dns.Fqdn(target)}
}

// A is an A record for ip.
func A(ip string) dns.RR {
	return &dns.A{Hdr: dns.RR_Header{Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: net.ParseIP(ip)}
}

// AAAA is an AAAA record for ip.
func AAAA(ip string) dns.RR {
	return &dns.AAAA{Hdr: dns.RR_Header{Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: 1}, AAAA: net.ParseIP(ip)}
}
