package kubernetes

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// Discovery discovers the targets of one role. Its watchers (one per
// resource and namespace) feed one loop, which owns every object store,
// works out which targets a change touches (as Prometheus' event handlers
// do), and sends their groups once every store has listed.
type Discovery struct {
	role         Role
	c            *client
	log          *slog.Logger
	m            *metrics
	namespaces   []string // [""]: all
	explicitNS   bool     // namespaces are listed: joins stay within one
	selectors    map[Role]SelectorConfig
	attach       AttachMetadataConfig
	minBackoff   time.Duration
	maxBackoff   time.Duration
	watchTimeout time.Duration

	// Owned by Run's loop.
	stores  [numKinds]map[string]object
	synced  map[watchScope]bool
	dirty   map[string]bool
	ordered []string // dirty keys in the order they were touched
}

type watchScope struct {
	kind kind
	ns   string
}

func newDiscovery(c *SDConfig, cl *client, ownNS string, log *slog.Logger, m *metrics) *Discovery {
	d := &Discovery{
		role: c.Role, c: cl, log: log, m: m,
		selectors:    map[Role]SelectorConfig{},
		attach:       c.AttachMetadata,
		minBackoff:   500 * time.Millisecond,
		maxBackoff:   30 * time.Second,
		watchTimeout: 5 * time.Minute,
	}
	for _, s := range c.Selectors {
		d.selectors[s.Role] = s
	}
	ns := append([]string(nil), c.NamespaceDiscovery.Names...)
	if c.NamespaceDiscovery.IncludeOwnNamespace && ownNS != "" {
		ns = append(ns, ownNS)
	}
	if len(ns) == 0 && !c.NamespaceDiscovery.IncludeOwnNamespace {
		ns = []string{""}
	}
	d.namespaces, d.explicitNS = ns, len(ns) != 1 || ns[0] != ""
	return d
}

// watchSpecs are the watches the role needs: its own objects and those it
// joins, each with the selector of its role.
func (d *Discovery) watchSpecs() []watchScope {
	var out []watchScope
	perNS := func(k kind) {
		for _, ns := range d.namespaces {
			out = append(out, watchScope{k, ns})
		}
	}
	switch d.role {
	case RolePod:
		perNS(kindPod)
	case RoleService:
		perNS(kindService)
	case RoleIngress:
		perNS(kindIngress)
	case RoleNode:
		out = append(out, watchScope{kindNode, ""})
	case RoleEndpoint, RoleEndpointSlice:
		if d.role == RoleEndpoint {
			perNS(kindEndpoints)
		} else {
			perNS(kindEndpointSlice)
		}
		perNS(kindService)
		perNS(kindPod)
	}
	podJoin := d.role == RolePod || d.role == RoleEndpoint || d.role == RoleEndpointSlice
	if podJoin && d.attach.Node {
		out = append(out, watchScope{kindNode, ""})
	}
	if d.role != RoleNode && d.attach.Namespace {
		out = append(out, watchScope{kindNamespace, ""})
	}
	if podJoin && d.attach.Deployment {
		perNS(kindReplicaSet)
	}
	if podJoin && (d.attach.Job || d.attach.CronJob) {
		perNS(kindJob)
	}
	return out
}

// primaryKind is the kind of the objects each role's targets come from.
var primaryKind = map[Role]kind{
	RolePod:           kindPod,
	RoleService:       kindService,
	RoleEndpoint:      kindEndpoints,
	RoleEndpointSlice: kindEndpointSlice,
	RoleIngress:       kindIngress,
	RoleNode:          kindNode,
}

// selectorOf is the selector applied to watches of kind k: that of the
// role whose primary kind k is.
func (d *Discovery) selectorOf(k kind) SelectorConfig {
	for r, pk := range primaryKind {
		if pk == k {
			return d.selectors[r]
		}
	}
	return SelectorConfig{}
}

// Run watches until ctx ends, sending the groups of changed targets on ch.
func (d *Discovery) Run(ctx context.Context, ch chan<- []*targetgroup.Group) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	events := make(chan event)
	specs := d.watchSpecs()
	d.synced, d.dirty = map[watchScope]bool{}, map[string]bool{}
	for i := range d.stores {
		d.stores[i] = map[string]object{}
	}
	for _, s := range specs {
		sel := d.selectorOf(s.kind)
		w := &watcher{
			c: d.c, kind: s.kind, ns: s.ns, label: sel.Label, field: sel.Field, out: events,
			log: d.log, failures: d.m.failures, watchTimeout: d.watchTimeout,
			backoff: backoff{min: d.minBackoff, max: d.maxBackoff},
		}
		wg.Go(func() { w.run(ctx) })
	}
	var pending []*targetgroup.Group
	for {
		if pending == nil && len(d.synced) == len(specs) && len(d.ordered) > 0 {
			pending = d.flush()
		}
		var out chan<- []*targetgroup.Group
		if pending != nil {
			out = ch
		}
		select {
		case <-ctx.Done():
			return
		case e := <-events:
			d.apply(e)
		case out <- pending:
			pending = nil
		}
	}
}

// flush builds the groups of the dirty keys; nil when there are none to
// send.
func (d *Discovery) flush() []*targetgroup.Group {
	var out []*targetgroup.Group
	for _, k := range d.ordered {
		if tg := d.build(k); tg != nil {
			out = append(out, tg)
		}
	}
	d.ordered, d.dirty = d.ordered[:0], map[string]bool{}
	if len(out) == 0 {
		return nil
	}
	return out
}

// touch marks the target group of a primary object's key for rebuilding.
func (d *Discovery) touch(k string) {
	if !d.dirty[k] {
		d.dirty[k] = true
		d.ordered = append(d.ordered, k)
	}
}

// apply updates a store and touches what the change affects. A relist is
// compared with the store: what is gone is deleted, what has a new
// resource version is updated.
func (d *Discovery) apply(e event) {
	store := d.stores[e.kind]
	switch e.typ {
	case evReplace:
		for k, old := range store {
			if inScope(old, e.ns) {
				if _, ok := e.all[k]; !ok {
					delete(store, k)
					d.changed(e.kind, evDelete, old, nil)
				}
			}
		}
		for k, o := range e.all {
			old, ok := store[k]
			store[k] = o
			switch {
			case !ok:
				d.changed(e.kind, evAdd, nil, o)
			case old.meta().ResourceVersion != o.meta().ResourceVersion:
				d.changed(e.kind, evUpdate, old, o)
			}
		}
		d.synced[watchScope{e.kind, e.ns}] = true
	case evAdd, evUpdate:
		k := key(e.obj)
		old, ok := store[k]
		store[k] = e.obj
		if ok {
			d.changed(e.kind, evUpdate, old, e.obj)
		} else {
			d.changed(e.kind, evAdd, nil, e.obj)
		}
	case evDelete:
		k := key(e.obj)
		old, ok := store[k]
		if !ok {
			old = e.obj
		}
		delete(store, k)
		d.changed(e.kind, evDelete, old, nil)
	}
}

func inScope(o object, ns string) bool {
	return ns == "" || o.meta().Namespace == ns
}

func (d *Discovery) count(r Role, t eventType) {
	names := [...]string{evAdd: "add", evUpdate: "update", evDelete: "delete"}
	d.m.events.WithLabelValues(string(r), names[t]).Inc()
}
