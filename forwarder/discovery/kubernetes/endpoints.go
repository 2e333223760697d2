package kubernetes

import (
	"net"
	"strconv"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
)

const (
	endpointNodeName               = metaPrefix + "endpoint_node_name"
	endpointHostname               = metaPrefix + "endpoint_hostname"
	endpointReadyLabel             = metaPrefix + "endpoint_ready"
	endpointPortNameLabel          = metaPrefix + "endpoint_port_name"
	endpointPortProtocolLabel      = metaPrefix + "endpoint_port_protocol"
	endpointAddressTargetKindLabel = metaPrefix + "endpoint_address_target_kind"
	endpointAddressTargetNameLabel = metaPrefix + "endpoint_address_target_name"
)

// seenPods remembers, in order, the pods an endpoints object or slice
// resolved and which of their ports it covered: the pods' other container
// ports become targets too.
type seenPods struct {
	order []*pod
	ports map[*pod][]int32 // covered port numbers
}

func (s *seenPods) add(p *pod, port *int32) {
	if s.ports == nil {
		s.ports = map[*pod][]int32{}
	}
	covered, ok := s.ports[p]
	if !ok {
		s.order = append(s.order, p)
	}
	if port != nil {
		covered = append(covered, *port)
	}
	s.ports[p] = covered
}

// rest appends a target for every container port of the seen pods that
// no endpoint port covered.
func (s *seenPods) rest(d *Discovery, targets []model.LabelSet) []model.LabelSet {
	for _, p := range s.order {
		if p.Status.PodIP == "" {
			continue
		}
		for i, c := range p.containers() {
			for _, cp := range c.Ports {
				covered := false
				for _, n := range s.ports[p] {
					covered = covered || n == cp.ContainerPort
				}
				if covered {
					continue
				}
				ports := strconv.FormatUint(uint64(cp.ContainerPort), 10)
				t := model.LabelSet{
					model.AddressLabel:            lv(net.JoinHostPort(p.Status.PodIP, ports)),
					podContainerNameLabel:         lv(c.Name),
					podContainerImageLabel:        lv(c.Image),
					podContainerPortNameLabel:     lv(cp.Name),
					podContainerPortNumberLabel:   lv(ports),
					podContainerPortProtocolLabel: lv(cp.Protocol),
					podContainerIsInit:            lv(strconv.FormatBool(i >= len(p.Spec.Containers))),
				}
				targets = append(targets, t.Merge(d.podLabels(p)))
			}
		}
	}
	return targets
}

// containerPortLabels sets the labels of the pod's container port number
// port, if it has one; protocol is what the endpoint port says.
func containerPortLabels(t model.LabelSet, p *pod, port int32, protocol string) {
	for i, c := range p.containers() {
		for _, cp := range c.Ports {
			if cp.ContainerPort != port {
				continue
			}
			t[podContainerNameLabel] = lv(c.Name)
			t[podContainerImageLabel] = lv(c.Image)
			t[podContainerPortNameLabel] = lv(cp.Name)
			t[podContainerPortNumberLabel] = lv(strconv.FormatUint(uint64(port), 10))
			t[podContainerPortProtocolLabel] = lv(protocol)
			t[podContainerIsInit] = lv(strconv.FormatBool(i >= len(p.Spec.Containers)))
			break
		}
	}
}

// serviceGroupLabels merges the labels of service ns/name, if watched.
func (d *Discovery) serviceGroupLabels(tg *targetgroup.Group, ns, name string) *service {
	o, ok := d.stores[kindService][ns+"/"+name]
	if !ok {
		return nil
	}
	svc := o.(*service)
	tg.Labels = tg.Labels.Merge(serviceLabels(svc))
	return svc
}

func (d *Discovery) buildEndpoints(e *endpoints) *targetgroup.Group {
	ns := e.Metadata.Namespace
	tg := &targetgroup.Group{Source: "endpoints/" + ns + "/" + e.Metadata.Name}
	tg.Labels = model.LabelSet{namespaceLabel: lv(ns)}
	d.serviceGroupLabels(tg, ns, e.Metadata.Name)
	addObjectLabels(tg.Labels, &e.Metadata, RoleEndpoint)
	if d.attach.Namespace {
		tg.Labels = d.namespaceLabels(tg.Labels, ns)
	}
	var seen seenPods
	add := func(addr endpointAddress, port endpointPort, ready string) {
		t := model.LabelSet{
			model.AddressLabel:        lv(net.JoinHostPort(addr.IP, strconv.FormatUint(uint64(port.Port), 10))),
			endpointPortNameLabel:     lv(port.Name),
			endpointPortProtocolLabel: lv(port.Protocol),
			endpointReadyLabel:        lv(ready),
		}
		if addr.TargetRef != nil {
			t[endpointAddressTargetKindLabel] = lv(addr.TargetRef.Kind)
			t[endpointAddressTargetNameLabel] = lv(addr.TargetRef.Name)
		}
		if addr.NodeName != nil {
			t[endpointNodeName] = lv(*addr.NodeName)
		}
		if addr.Hostname != "" {
			t[endpointHostname] = lv(addr.Hostname)
		}
		if d.attach.Node {
			if addr.NodeName != nil {
				t = d.nodeLabels(t, addr.NodeName)
			} else if addr.TargetRef != nil && addr.TargetRef.Kind == "Node" {
				t = d.nodeLabels(t, &addr.TargetRef.Name)
			}
		}
		p := d.podByRef(addr.TargetRef, ns)
		if p == nil {
			tg.Targets = append(tg.Targets, t)
			return
		}
		seen.add(p, &port.Port)
		t = t.Merge(d.podLabels(p))
		containerPortLabels(t, p, port.Port, port.Protocol)
		tg.Targets = append(tg.Targets, t)
	}
	for _, ss := range e.Subsets {
		for _, port := range ss.Ports {
			for _, a := range ss.Addresses {
				add(a, port, "true")
			}
			for _, a := range ss.NotReadyAddresses {
				add(a, port, "false")
			}
		}
	}
	if v := e.Metadata.Labels["endpoints.kubernetes.io/over-capacity"]; v == "truncated" || v == "warning" {
		d.log.Warn("Number of endpoints in one Endpoints object exceeds 1000, please use \"role: endpointslice\" instead", "endpoint", e.Metadata.Name, "over_capacity", v)
	}
	tg.Targets = seen.rest(d, tg.Targets)
	return tg
}
