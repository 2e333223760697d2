package kubernetes

import (
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/util/strutil"
)

const (
	servicePortNameLabel     = metaPrefix + "service_port_name"
	servicePortNumberLabel   = metaPrefix + "service_port_number"
	servicePortProtocolLabel = metaPrefix + "service_port_protocol"
	serviceClusterIPLabel    = metaPrefix + "service_cluster_ip"
	serviceLoadBalancerIP    = metaPrefix + "service_loadbalancer_ip"
	serviceExternalNameLabel = metaPrefix + "service_external_name"
	serviceType              = metaPrefix + "service_type"

	nodeProviderIDLabel = metaPrefix + "node_provider_id"
	nodeConditionPrefix = metaPrefix + "node_condition_"
	nodeAddressPrefix   = metaPrefix + "node_address_"

	ingressSchemeLabel    = metaPrefix + "ingress_scheme"
	ingressHostLabel      = metaPrefix + "ingress_host"
	ingressPathLabel      = metaPrefix + "ingress_path"
	ingressClassNameLabel = metaPrefix + "ingress_class_name"
)

func serviceLabels(s *service) model.LabelSet {
	ls := model.LabelSet{namespaceLabel: lv(s.Metadata.Namespace)}
	addObjectLabels(ls, &s.Metadata, RoleService)
	return ls
}

// buildService: one target per port, at the service's DNS name.
func (d *Discovery) buildService(s *service) *targetgroup.Group {
	tg := &targetgroup.Group{Source: "svc/" + s.Metadata.Namespace + "/" + s.Metadata.Name}
	tg.Labels = serviceLabels(s)
	if d.attach.Namespace {
		tg.Labels = d.namespaceLabels(tg.Labels, s.Metadata.Namespace)
	}
	for _, p := range s.Spec.Ports {
		port := strconv.FormatInt(int64(p.Port), 10)
		t := model.LabelSet{
			model.AddressLabel:       lv(net.JoinHostPort(s.Metadata.Name+"."+s.Metadata.Namespace+".svc", port)),
			servicePortNameLabel:     lv(p.Name),
			servicePortNumberLabel:   lv(port),
			servicePortProtocolLabel: lv(p.Protocol),
			serviceType:              lv(s.Spec.Type),
		}
		if s.Spec.Type == "ExternalName" {
			t[serviceExternalNameLabel] = lv(s.Spec.ExternalName)
		} else {
			t[serviceClusterIPLabel] = lv(s.Spec.ClusterIP)
		}
		if s.Spec.Type == "LoadBalancer" {
			t[serviceLoadBalancerIP] = lv(loadBalancerIPs(s))
		}
		tg.Targets = append(tg.Targets, t)
	}
	return tg
}

func loadBalancerIPs(s *service) string {
	var ips []string
	for _, in := range s.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			ips = append(ips, in.IP)
		}
	}
	if len(ips) > 0 {
		return strings.Join(ips, ",")
	}
	return s.Spec.LoadBalancerIP
}

// buildNode: the kubelet's address; nil (nothing sent) for a node without
// one, as Prometheus does.
func (d *Discovery) buildNode(n *node) *targetgroup.Group {
	tg := &targetgroup.Group{Source: "node/" + n.Metadata.Name}
	tg.Labels = model.LabelSet{nodeProviderIDLabel: lv(n.Spec.ProviderID)}
	for _, c := range n.Status.Conditions {
		tg.Labels[model.LabelName(nodeConditionPrefix+strutil.SanitizeLabelName(strings.ToLower(c.Type)))] = lower(c.Status)
	}
	addObjectLabels(tg.Labels, &n.Metadata, RoleNode)
	addr, byType, err := nodeAddress(n)
	if err != nil {
		d.log.Warn("No node address found", "node", n.Metadata.Name, "err", err)
		return nil
	}
	t := model.LabelSet{
		model.AddressLabel:  lv(net.JoinHostPort(addr, strconv.FormatInt(int64(n.Status.DaemonEndpoints.KubeletEndpoint.Port), 10))),
		model.InstanceLabel: lv(n.Metadata.Name),
	}
	for ty, a := range byType {
		t[model.LabelName(strutil.SanitizeLabelName(nodeAddressPrefix+ty))] = lv(a[0])
	}
	tg.Targets = append(tg.Targets, t)
	return tg
}

// nodeAddress picks the first address of the most preferred type.
func nodeAddress(n *node) (string, map[string][]string, error) {
	m := map[string][]string{}
	for _, a := range n.Status.Addresses {
		m[a.Type] = append(m[a.Type], a.Address)
	}
	for _, ty := range []string{"InternalIP", "InternalDNS", "ExternalIP", "ExternalDNS", "LegacyHostIP", "Hostname"} {
		if a, ok := m[ty]; ok {
			return a[0], m, nil
		}
	}
	return "", m, errors.New("host address unknown")
}

// buildIngress: one target per rule host and path; https when a TLS
// entry's host pattern matches.
func (d *Discovery) buildIngress(in *ingress) *targetgroup.Group {
	tg := &targetgroup.Group{Source: "ingress/" + in.Metadata.Namespace + "/" + in.Metadata.Name}
	tg.Labels = model.LabelSet{namespaceLabel: lv(in.Metadata.Namespace)}
	if c := in.Spec.IngressClassName; c != nil {
		tg.Labels[ingressClassNameLabel] = lv(*c)
	}
	addObjectLabels(tg.Labels, &in.Metadata, RoleIngress)
	if d.attach.Namespace {
		tg.Labels = d.namespaceLabels(tg.Labels, in.Metadata.Namespace)
	}
	var tlsHosts []string
	for _, t := range in.Spec.TLS {
		tlsHosts = append(tlsHosts, t.Hosts...)
	}
	for _, rule := range in.Spec.Rules {
		scheme := "http"
		for _, pattern := range tlsHosts {
			if matchesHostnamePattern(pattern, rule.Host) {
				scheme = "https"
				break
			}
		}
		paths := []string{"/"}
		if rule.HTTP != nil {
			paths = make([]string, len(rule.HTTP.Paths))
			for i, p := range rule.HTTP.Paths {
				paths[i] = p.Path
				if p.Path == "" {
					paths[i] = "/"
				}
			}
		}
		for _, path := range paths {
			tg.Targets = append(tg.Targets, model.LabelSet{
				model.AddressLabel: lv(rule.Host),
				ingressSchemeLabel: lv(scheme),
				ingressHostLabel:   lv(rule.Host),
				ingressPathLabel:   lv(path),
			})
		}
	}
	return tg
}

// matchesHostnamePattern: equal, or a "*.rest" pattern matching a host of
// as many labels.
func matchesHostnamePattern(pattern, host string) bool {
	if pattern == host {
		return true
	}
	pp, hp := strings.Split(pattern, "."), strings.Split(host, ".")
	if pp[0] != "*" || len(pp) != len(hp) {
		return false
	}
	for i := 1; i < len(pp); i++ {
		if pp[i] != hp[i] {
			return false
		}
	}
	return true
}
