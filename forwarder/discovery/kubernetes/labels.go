package kubernetes

import (
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/util/strutil"
)

// The __meta_kubernetes_* labels, named and valued as Prometheus' own
// discovery sets them (prometheus/discovery/kubernetes).
const (
	metaPrefix     = model.MetaLabelPrefix + "kubernetes_"
	namespaceLabel = metaPrefix + "namespace"
	presentValue   = model.LabelValue("true")
)

func lv(s string) model.LabelValue { return model.LabelValue(s) }

// build is the target group of the role's object at key; a group without
// targets when it is gone; nil when nothing is to be sent.
func (d *Discovery) build(k string) *targetgroup.Group {
	switch d.role {
	case RolePod:
		if o, ok := d.stores[kindPod][k]; ok {
			return d.buildPod(o.(*pod))
		}
		return &targetgroup.Group{Source: "pod/" + k}
	case RoleService:
		if o, ok := d.stores[kindService][k]; ok {
			return d.buildService(o.(*service))
		}
		return &targetgroup.Group{Source: "svc/" + k}
	case RoleIngress:
		if o, ok := d.stores[kindIngress][k]; ok {
			return d.buildIngress(o.(*ingress))
		}
		return &targetgroup.Group{Source: "ingress/" + k}
	case RoleNode:
		if o, ok := d.stores[kindNode][k]; ok {
			return d.buildNode(o.(*node))
		}
		return &targetgroup.Group{Source: "node/" + k}
	case RoleEndpoint:
		if o, ok := d.stores[kindEndpoints][k]; ok {
			return d.buildEndpoints(o.(*endpoints))
		}
		return &targetgroup.Group{Source: "endpoints/" + k}
	case RoleEndpointSlice:
		if o, ok := d.stores[kindEndpointSlice][k]; ok {
			return d.buildSlice(o.(*endpointSlice))
		}
		return &targetgroup.Group{Source: "endpointslice/" + k}
	}
	return nil
}

// addMetaLabels sets <resource>_label_*, _labelpresent_*, _annotation_*
// and _annotationpresent_* with sanitised names.
func addMetaLabels(ls model.LabelSet, m *objectMeta, resource string) {
	for k, v := range m.Labels {
		ln := strutil.SanitizeLabelName(k)
		ls[model.LabelName(metaPrefix+resource+"_label_"+ln)] = lv(v)
		ls[model.LabelName(metaPrefix+resource+"_labelpresent_"+ln)] = presentValue
	}
	for k, v := range m.Annotations {
		ln := strutil.SanitizeLabelName(k)
		ls[model.LabelName(metaPrefix+resource+"_annotation_"+ln)] = lv(v)
		ls[model.LabelName(metaPrefix+resource+"_annotationpresent_"+ln)] = presentValue
	}
}

// addObjectLabels adds <role>_name and the metadata labels.
func addObjectLabels(ls model.LabelSet, m *objectMeta, role Role) {
	ls[model.LabelName(metaPrefix+string(role)+"_name")] = lv(m.Name)
	addMetaLabels(ls, m, string(role))
}

// nodeLabels merges the labels of the named node, when it is known.
func (d *Discovery) nodeLabels(ls model.LabelSet, name *string) model.LabelSet {
	if name == nil {
		return ls
	}
	o, ok := d.stores[kindNode][*name]
	if !ok {
		return ls
	}
	n := model.LabelSet{}
	addObjectLabels(n, o.meta(), RoleNode)
	return ls.Merge(n)
}

// namespaceLabels merges the labels and annotations of namespace ns.
func (d *Discovery) namespaceLabels(ls model.LabelSet, ns string) model.LabelSet {
	o, ok := d.stores[kindNamespace][ns]
	if !ok {
		return ls
	}
	n := model.LabelSet{}
	addMetaLabels(n, o.meta(), "namespace")
	return ls.Merge(n)
}

// podByRef resolves an address's target to a watched pod: one in the
// referring object's namespace when namespaces are listed, as each
// namespace has its own watch there.
func (d *Discovery) podByRef(ref *objectReference, ns string) *pod {
	if ref == nil || ref.Kind != "Pod" || (d.explicitNS && ref.Namespace != ns) {
		return nil
	}
	if o, ok := d.stores[kindPod][ref.Namespace+"/"+ref.Name]; ok {
		return o.(*pod)
	}
	return nil
}

func lower(s string) model.LabelValue { return lv(strings.ToLower(s)) }
