package kubernetes

import (
	"net"
	"strconv"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/util/strutil"
)

const (
	sliceAddressTypeLabel           = metaPrefix + "endpointslice_address_type"
	slicePortNameLabel              = metaPrefix + "endpointslice_port_name"
	slicePortProtocolLabel          = metaPrefix + "endpointslice_port_protocol"
	slicePortLabel                  = metaPrefix + "endpointslice_port"
	slicePortAppProtocol            = metaPrefix + "endpointslice_port_app_protocol"
	sliceReadyLabel                 = metaPrefix + "endpointslice_endpoint_conditions_ready"
	sliceServingLabel               = metaPrefix + "endpointslice_endpoint_conditions_serving"
	sliceTerminatingLabel           = metaPrefix + "endpointslice_endpoint_conditions_terminating"
	sliceZoneLabel                  = metaPrefix + "endpointslice_endpoint_zone"
	sliceHostnameLabel              = metaPrefix + "endpointslice_endpoint_hostname"
	sliceNodenameLabel              = metaPrefix + "endpointslice_endpoint_node_name"
	sliceTargetKindLabel            = metaPrefix + "endpointslice_address_target_kind"
	sliceTargetNameLabel            = metaPrefix + "endpointslice_address_target_name"
	sliceTopologyLabelPrefix        = metaPrefix + "endpointslice_endpoint_topology_"
	sliceTopologyPresentLabelPrefix = metaPrefix + "endpointslice_endpoint_topology_present_"
)

func (d *Discovery) buildSlice(s *endpointSlice) *targetgroup.Group {
	ns := s.Metadata.Namespace
	tg := &targetgroup.Group{Source: "endpointslice/" + ns + "/" + s.Metadata.Name}
	tg.Labels = model.LabelSet{namespaceLabel: lv(ns), sliceAddressTypeLabel: lv(s.AddressType)}
	addObjectLabels(tg.Labels, &s.Metadata, RoleEndpointSlice)
	var svc *service
	if name, ok := s.Metadata.Labels[serviceNameLabel]; ok {
		svc = d.serviceGroupLabels(tg, ns, name)
	}
	if d.attach.Namespace {
		tg.Labels = d.namespaceLabels(tg.Labels, ns)
	}
	if nonPrimaryIPFamily(svc, s) {
		return tg // dual-stack: the primary family's slice has the targets
	}
	var seen seenPods
	for _, ep := range s.Endpoints {
		for _, port := range s.Ports {
			for _, addr := range ep.Addresses {
				a := addr
				t := model.LabelSet{}
				if port.Port != nil {
					ps := strconv.FormatUint(uint64(*port.Port), 10)
					a = net.JoinHostPort(addr, ps)
					t[slicePortLabel] = lv(ps)
				}
				t[model.AddressLabel] = lv(a)
				setIf(t, slicePortNameLabel, port.Name)
				setIf(t, slicePortProtocolLabel, port.Protocol)
				setIf(t, slicePortAppProtocol, port.AppProtocol)
				setBool(t, sliceReadyLabel, ep.Conditions.Ready)
				setBool(t, sliceServingLabel, ep.Conditions.Serving)
				setBool(t, sliceTerminatingLabel, ep.Conditions.Terminating)
				setIf(t, sliceHostnameLabel, ep.Hostname)
				if ep.TargetRef != nil {
					t[sliceTargetKindLabel] = lv(ep.TargetRef.Kind)
					t[sliceTargetNameLabel] = lv(ep.TargetRef.Name)
				}
				setIf(t, sliceNodenameLabel, ep.NodeName)
				setIf(t, sliceZoneLabel, ep.Zone)
				for k, v := range ep.DeprecatedTopology {
					ln := strutil.SanitizeLabelName(k)
					t[model.LabelName(sliceTopologyLabelPrefix+ln)] = lv(v)
					t[model.LabelName(sliceTopologyPresentLabelPrefix+ln)] = presentValue
				}
				if d.attach.Node {
					if ep.TargetRef != nil && ep.TargetRef.Kind == "Node" {
						t = d.nodeLabels(t, &ep.TargetRef.Name)
					} else {
						t = d.nodeLabels(t, ep.NodeName)
					}
				}
				p := d.podByRef(ep.TargetRef, ns)
				if p == nil {
					tg.Targets = append(tg.Targets, t)
					continue
				}
				seen.add(p, port.Port)
				t = t.Merge(d.podLabels(p))
				if port.Port != nil {
					if cp := containerPortProtocol(p, *port.Port); cp != nil {
						containerPortLabels(t, p, *port.Port, *cp)
					}
				}
				tg.Targets = append(tg.Targets, t)
			}
		}
	}
	tg.Targets = seen.rest(d, tg.Targets)
	return tg
}

// containerPortProtocol is the protocol of the pod's first container port
// numbered port (slices label the container's protocol, endpoints the
// endpoint port's).
func containerPortProtocol(p *pod, port int32) *string {
	for _, c := range p.containers() {
		for _, cp := range c.Ports {
			if cp.ContainerPort == port {
				return &cp.Protocol
			}
		}
	}
	return nil
}

// nonPrimaryIPFamily: a dual-stack service's slice of its second family.
func nonPrimaryIPFamily(svc *service, s *endpointSlice) bool {
	if svc == nil || svc.Spec.IPFamilyPolicy == nil {
		return false
	}
	if p := *svc.Spec.IPFamilyPolicy; p != "PreferDualStack" && p != "RequireDualStack" {
		return false
	}
	return len(svc.Spec.IPFamilies) > 0 && s.AddressType != svc.Spec.IPFamilies[0]
}

func setIf(t model.LabelSet, name model.LabelName, v *string) {
	if v != nil {
		t[name] = lv(*v)
	}
}

func setBool(t model.LabelSet, name model.LabelName, v *bool) {
	if v != nil {
		t[name] = lv(strconv.FormatBool(*v))
	}
}
