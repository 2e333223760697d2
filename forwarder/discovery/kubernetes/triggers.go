package kubernetes

// changed touches the targets a change affects, with the rules of
// Prometheus' event handlers: a role's own objects on any change; the
// services an endpoints object or slice belongs to; a pod's endpoints only
// when its phase changes; the targets on a node on any node change; a
// namespace's targets when it is updated (its creation and deletion reach
// them through their own objects); a pod's replica set or job on any
// change.
func (d *Discovery) changed(k kind, t eventType, old, cur object) {
	o := cur
	if o == nil {
		o = old
	}
	own := primaryKind[d.role]
	switch k {
	case own:
		d.count(d.role, t)
		d.touch(key(o))
		return
	case kindNamespace:
		if t == evUpdate {
			d.touchNamespace(own, o.meta().Name)
		}
		return
	}
	switch d.role {
	case RolePod:
		d.podChanged(k, o)
	case RoleEndpoint:
		d.endpointsChanged(k, t, old, cur)
	case RoleEndpointSlice:
		d.sliceChanged(k, t, o)
	}
}

// podChanged handles the joins of the pod role.
func (d *Discovery) podChanged(k kind, o object) {
	switch k {
	case kindNode:
		name := o.meta().Name
		d.touchMatching(kindPod, func(x object) bool { return x.(*pod).Spec.NodeName == name })
	case kindReplicaSet, kindJob:
		ownerKind := "ReplicaSet"
		if k == kindJob {
			ownerKind = "Job"
		}
		m := o.meta()
		d.touchMatching(kindPod, func(x object) bool {
			c := x.meta().controller()
			return c != nil && c.Kind == ownerKind && c.Name == m.Name && x.meta().Namespace == m.Namespace
		})
	}
}

func (d *Discovery) endpointsChanged(k kind, t eventType, old, cur object) {
	o := cur
	if o == nil {
		o = old
	}
	switch k {
	case kindService:
		d.count(RoleService, t)
		if _, ok := d.stores[kindEndpoints][key(o)]; ok {
			d.touch(key(o))
		}
	case kindPod:
		if t != evUpdate {
			return
		}
		d.count(RolePod, t)
		if old.(*pod).Status.Phase == cur.(*pod).Status.Phase {
			return
		}
		ns, name := o.meta().Namespace, o.meta().Name
		d.touchMatching(kindEndpoints, func(x object) bool {
			for _, ss := range x.(*endpoints).Subsets {
				for _, a := range ss.Addresses {
					if r := a.TargetRef; r != nil && r.Kind == "Pod" && r.Namespace == ns && r.Name == name {
						return true
					}
				}
			}
			return false
		})
	case kindNode:
		name := o.meta().Name
		d.touchMatching(kindEndpoints, func(x object) bool {
			for _, ss := range x.(*endpoints).Subsets {
				for _, a := range ss.Addresses {
					if onNode(a.TargetRef, a.NodeName, name) {
						return true
					}
				}
			}
			return false
		})
	}
}

func (d *Discovery) sliceChanged(k kind, t eventType, o object) {
	switch k {
	case kindService:
		d.count(RoleService, t)
		ns, name := o.meta().Namespace, o.meta().Name
		d.touchMatching(kindEndpointSlice, func(x object) bool {
			svc, ok := x.meta().Labels[serviceNameLabel]
			return ok && svc == name && x.meta().Namespace == ns
		})
	case kindNode:
		name := o.meta().Name
		d.touchMatching(kindEndpointSlice, func(x object) bool {
			for _, ep := range x.(*endpointSlice).Endpoints {
				if onNode(ep.TargetRef, ep.NodeName, name) {
					return true
				}
			}
			return false
		})
	}
}

// serviceNameLabel names an endpoint slice's service.
const serviceNameLabel = "kubernetes.io/service-name"

// onNode: an address of a pod on node, or of the node itself.
func onNode(ref *objectReference, nodeName *string, node string) bool {
	switch {
	case ref == nil:
		return false
	case ref.Kind == "Pod":
		return nodeName != nil && *nodeName == node
	case ref.Kind == "Node":
		return ref.Name == node
	}
	return false
}

func (d *Discovery) touchMatching(k kind, match func(object) bool) {
	for key, o := range d.stores[k] {
		if match(o) {
			d.touch(key)
		}
	}
}

func (d *Discovery) touchNamespace(k kind, ns string) {
	d.touchMatching(k, func(o object) bool { return o.meta().Namespace == ns })
}
