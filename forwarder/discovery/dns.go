package discovery

// The DNS discoverer is Prometheus' discovery/dns (Apache-2.0) with one
// change: the resolver configuration can be given instead of read from
// /etc/resolv.conf, so tests can query a DNS server of their own. Its
// config, labels, metrics and behaviour are Prometheus'.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	promdisc "github.com/prometheus/prometheus/discovery"
	promdns "github.com/prometheus/prometheus/discovery/dns"
	"github.com/prometheus/prometheus/discovery/refresh"
	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// DNSClientConfig is a resolver configuration (servers, port, search
// domains, ndots), as miekg/dns reads it from resolv.conf.
type DNSClientConfig = dns.ClientConfig

const (
	resolvConf              = "/etc/resolv.conf"
	dnsNameLabel            = model.MetaLabelPrefix + "dns_name"
	dnsSrvRecordPrefix      = model.MetaLabelPrefix + "dns_srv_record_"
	dnsSrvRecordTargetLabel = dnsSrvRecordPrefix + "target"
	dnsSrvRecordPortLabel   = dnsSrvRecordPrefix + "port"
	dnsMxRecordTargetLabel  = model.MetaLabelPrefix + "dns_mx_record_target"
	dnsNsRecordTargetLabel  = model.MetaLabelPrefix + "dns_ns_record_target"
)

// wrap swaps in promfwd's own discoverer where Prometheus' cannot be
// pointed at a test server (dns).
func (o Options) wrap(c promdisc.Config) promdisc.Config {
	if d, ok := c.(*promdns.SDConfig); ok {
		return &dnsConfig{SDConfig: d, client: o.DNS}
	}
	return c
}

type dnsConfig struct {
	*promdns.SDConfig
	client *dns.ClientConfig // nil: resolv.conf
}

func (c *dnsConfig) NewDiscovererMetrics(reg prometheus.Registerer, rmi promdisc.RefreshMetricsInstantiator) promdisc.DiscovererMetrics {
	m := &dnsMetrics{
		refresh: rmi,
		lookups: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_sd_dns_lookups_total", Help: "The number of DNS-SD lookups."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_sd_dns_lookup_failures_total", Help: "The number of DNS-SD lookup failures."}),
	}
	m.reg = promdisc.NewMetricRegisterer(reg, []prometheus.Collector{m.lookups, m.failures})
	return m
}

func (c *dnsConfig) NewDiscoverer(o promdisc.DiscovererOptions) (promdisc.Discoverer, error) {
	m, ok := o.Metrics.(*dnsMetrics)
	if !ok {
		return nil, errors.New("invalid discovery metrics type")
	}
	qtype := dns.TypeSRV
	switch strings.ToUpper(c.Type) {
	case "A":
		qtype = dns.TypeA
	case "AAAA":
		qtype = dns.TypeAAAA
	case "MX":
		qtype = dns.TypeMX
	case "NS":
		qtype = dns.TypeNS
	}
	d := &dnsDiscovery{names: c.Names, port: c.Port, qtype: qtype, logger: o.Logger, metrics: m, client: c.client}
	d.Discovery = refresh.NewDiscovery(refresh.Options{
		Logger:              o.Logger,
		Mech:                "dns",
		SetName:             o.SetName,
		Interval:            time.Duration(c.RefreshInterval),
		RefreshF:            d.refresh,
		MetricsInstantiator: m.refresh,
	})
	return d, nil
}

type dnsMetrics struct {
	refresh  promdisc.RefreshMetricsInstantiator
	lookups  prometheus.Counter
	failures prometheus.Counter
	reg      promdisc.MetricRegisterer
}

func (m *dnsMetrics) Register() error { return m.reg.RegisterMetrics() }
func (m *dnsMetrics) Unregister()     { m.reg.UnregisterMetrics() }

type dnsDiscovery struct {
	*refresh.Discovery
	names   []string
	port    int
	qtype   uint16
	logger  *slog.Logger
	metrics *dnsMetrics
	client  *dns.ClientConfig
}

// refresh looks every name up; a name that fails is logged and left out,
// so its last good group stays (the Set keeps groups by source). When every
// name failed the refresh is an error: nothing is sent, so the Set neither
// changes nor takes the refresh for a recovery.
func (d *dnsDiscovery) refresh(ctx context.Context) ([]*targetgroup.Group, error) {
	var (
		wg     sync.WaitGroup
		ch     = make(chan *targetgroup.Group)
		tgs    = make([]*targetgroup.Group, 0, len(d.names))
		failed atomic.Int32
	)
	wg.Add(len(d.names))
	for _, name := range d.names {
		go func() {
			defer wg.Done()
			if err := d.refreshOne(ctx, name, ch); err != nil && !errors.Is(err, context.Canceled) {
				failed.Add(1)
				d.logger.Error("Error refreshing DNS targets", "err", err)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(ch)
	}()
	for tg := range ch {
		tgs = append(tgs, tg)
	}
	if n := int(failed.Load()); n > 0 && n == len(d.names) {
		return nil, fmt.Errorf("dns_sd: all %d names failed to resolve", n)
	}
	return tgs, nil
}

func (d *dnsDiscovery) refreshOne(ctx context.Context, name string, ch chan<- *targetgroup.Group) error {
	response, err := d.lookup(name)
	d.metrics.lookups.Inc()
	if err != nil {
		d.metrics.failures.Inc()
		return err
	}
	tg := &targetgroup.Group{}
	hostPort := func(a string, p int) model.LabelValue {
		return model.LabelValue(net.JoinHostPort(a, strconv.Itoa(p)))
	}
	for _, record := range response.Answer {
		var target, srvTarget, srvPort, mxTarget, nsTarget model.LabelValue
		switch addr := record.(type) {
		case *dns.SRV:
			srvTarget = model.LabelValue(addr.Target)
			srvPort = model.LabelValue(strconv.Itoa(int(addr.Port)))
			target = hostPort(strings.TrimRight(addr.Target, "."), int(addr.Port))
		case *dns.MX:
			mxTarget = model.LabelValue(addr.Mx)
			target = hostPort(strings.TrimRight(addr.Mx, "."), d.port)
		case *dns.NS:
			nsTarget = model.LabelValue(addr.Ns)
			target = hostPort(strings.TrimRight(addr.Ns, "."), d.port)
		case *dns.A:
			target = hostPort(addr.A.String(), d.port)
		case *dns.AAAA:
			target = hostPort(addr.AAAA.String(), d.port)
		case *dns.CNAME:
			continue // CNAME answers come with A queries
		default:
			d.logger.Warn("Invalid record", "record", record)
			continue
		}
		tg.Targets = append(tg.Targets, model.LabelSet{
			model.AddressLabel:      target,
			dnsNameLabel:            model.LabelValue(name),
			dnsSrvRecordTargetLabel: srvTarget,
			dnsSrvRecordPortLabel:   srvPort,
			dnsMxRecordTargetLabel:  mxTarget,
			dnsNsRecordTargetLabel:  nsTarget,
		})
	}
	tg.Source = name
	select {
	case <-ctx.Done():
		return ctx.Err()
	case ch <- tg:
	}
	return nil
}

// lookup is Prometheus' lookupWithSearchPath: try each search-path form of
// name on every server; an answer, or NXDOMAIN from everyone, is final.
func (d *dnsDiscovery) lookup(name string) (*dns.Msg, error) {
	conf := d.client
	if conf == nil {
		var err error
		if conf, err = dns.ClientConfigFromFile(resolvConf); err != nil {
			return nil, fmt.Errorf("could not load resolv.conf: %w", err)
		}
	}
	allValid := true
	for _, lname := range conf.NameList(name) {
		response, err := d.lookupFromAnyServer(lname, conf)
		switch {
		case err != nil:
			allValid = false // a later name may still answer
		case response.Rcode == dns.RcodeSuccess:
			return response, nil
		}
	}
	if allValid {
		return &dns.Msg{}, nil // everyone says NXDOMAIN: no targets
	}
	return nil, fmt.Errorf("could not resolve %q: all servers responded with errors to at least one search domain", name)
}

func (d *dnsDiscovery) lookupFromAnyServer(name string, conf *dns.ClientConfig) (*dns.Msg, error) {
	client := &dns.Client{}
	for _, server := range conf.Servers {
		servAddr := net.JoinHostPort(server, conf.Port)
		msg, err := askServerForName(name, d.qtype, client, servAddr, true)
		if err != nil {
			d.logger.Warn("DNS resolution failed", "server", server, "name", name, "err", err)
			continue
		}
		if msg.Rcode == dns.RcodeSuccess || msg.Rcode == dns.RcodeNameError {
			return msg, nil
		}
	}
	return nil, fmt.Errorf("could not resolve %s: no servers returned a viable answer", name)
}

func askServerForName(name string, qtype uint16, client *dns.Client, servAddr string, edns bool) (*dns.Msg, error) {
	msg := &dns.Msg{}
	msg.SetQuestion(dns.Fqdn(name), qtype)
	if edns {
		msg.SetEdns0(dns.DefaultMsgSize, false)
	}
	response, _, err := client.Exchange(msg, servAddr)
	if err != nil {
		return nil, err
	}
	if response.Truncated {
		if client.Net == "tcp" {
			return nil, errors.New("got truncated message on TCP (64kiB limit exceeded?)")
		}
		client.Net = "tcp"
		return askServerForName(name, qtype, client, servAddr, false)
	}
	return response, nil
}
