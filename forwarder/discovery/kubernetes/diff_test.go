package kubernetes

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promdisc "github.com/prometheus/prometheus/discovery"
	promk8s "github.com/prometheus/prometheus/discovery/kubernetes"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/promfwd/promfwd/internal/kubetest"
)

// collector keeps the last group per source a discoverer sent.
type collector struct {
	mu     sync.Mutex
	groups map[string]*targetgroup.Group
}

func runDiscoverer(ctx context.Context, wg *sync.WaitGroup, d promdisc.Discoverer) *collector {
	c := &collector{groups: map[string]*targetgroup.Group{}}
	ch := make(chan []*targetgroup.Group)
	wg.Go(func() { d.Run(ctx, ch) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case tgs := <-ch:
				c.mu.Lock()
				for _, tg := range tgs {
					c.groups[tg.Source] = tg
				}
				c.mu.Unlock()
			}
		}
	})
	return c
}

// state is a canonical text of the groups: sources sorted, each group's
// labels, then its targets sorted.
func (c *collector) state() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, src := range slices.Sorted(func(yield func(string) bool) {
		for s := range c.groups {
			if !yield(s) {
				return
			}
		}
	}) {
		g := c.groups[src]
		ts := make([]string, 0, len(g.Targets))
		for _, t := range g.Targets {
			ts = append(ts, "    "+t.String())
		}
		slices.Sort(ts)
		fmt.Fprintf(&b, "%s %s\n%s\n", src, g.Labels.String(), strings.Join(ts, "\n"))
	}
	return b.String()
}

// diffCases: every role, with namespaces, selectors and attach_metadata.
var diffCases = []struct{ name, yaml string }{
	{"pod", `role: pod`},
	{"pod-attach", `{role: pod, attach_metadata: {node: true, namespace: true, deployment: true, job: true, cronjob: true}}`},
	{"pod-selectors", `{role: pod, namespaces: {names: [default, apps]}, attach_metadata: {node: true},
		selectors: [{role: pod, label: "tier", field: "status.phase!=Pending"}, {role: node, label: "kubernetes.io/hostname notin (n2)"}]}`},
	{"service", `{role: service, attach_metadata: {namespace: true}}`},
	{"service-selector", `{role: service, namespaces: {names: [default]}, selectors: [{role: service, field: "metadata.name!=lb"}]}`},
	{"endpoints", `{role: endpoints, attach_metadata: {node: true, namespace: true, deployment: true}}`},
	{"endpoints-ns", `{role: endpoints, namespaces: {names: [default, apps]}, selectors: [{role: service, label: "app=web"}]}`},
	{"endpointslice", `{role: endpointslice, attach_metadata: {node: true, namespace: true, job: true}}`},
	{"endpointslice-ns", `{role: endpointslice, namespaces: {names: [apps]}, selectors: [{role: pod, label: "tier=db"}]}`},
	{"node", `role: node`},
	{"node-selector", `{role: node, selectors: [{role: node, label: "kubernetes.io/hostname in (n1, n3)"}]}`},
	{"ingress", `{role: ingress, attach_metadata: {namespace: true}}`},
}

type pair struct {
	name         string
	theirs, ours *collector
}

// TestSameTargetsAsPrometheus runs Prometheus' Kubernetes discovery and
// ours side by side against one kubetest server, for every role, and
// requires the same groups (sources, group labels, targets) after the
// initial list, after updates and after deletes.
func TestSameTargetsAsPrometheus(t *testing.T) {
	api := kubetest.NewServer(kubetest.Options{})
	t.Cleanup(api.Close)
	for _, o := range fixtures() {
		if _, err := api.Apply(o); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	var pairs []pair
	for _, tc := range diffCases {
		src := strings.Replace(tc.yaml, "{role:", fmt.Sprintf("{api_server: %q, role:", api.URL()), 1)
		if !strings.HasPrefix(src, "{") {
			src = fmt.Sprintf("{api_server: %q, %s}", api.URL(), src)
		}
		var theirs promk8s.SDConfig
		var ours SDConfig
		if err := yaml.Unmarshal([]byte(src), &theirs); err != nil {
			t.Fatalf("%s: Prometheus' config: %v", tc.name, err)
		}
		if err := yaml.Unmarshal([]byte(src), &ours); err != nil {
			t.Fatalf("%s: our config: %v", tc.name, err)
		}
		pairs = append(pairs, pair{tc.name, runDiscoverer(ctx, &wg, newTheirs(t, &theirs)), runDiscoverer(ctx, &wg, newOurs(t, &ours))})
	}
	// compare waits until, for every pair, Prometheus' groups changed
	// since before (unless the step leaves the config alone), ours equal
	// them, and both stay so for five polls.
	compare := func(step string, before map[string]string, unchanged ...string) map[string]string {
		t.Helper()
		now := map[string]string{}
		for _, p := range pairs {
			mustChange := before != nil && !slices.Contains(unchanged, p.name)
			var last string
			stable := 0
			deadline := time.Now().Add(30 * time.Second)
			for stable < 5 {
				theirs, ours := p.theirs.state(), p.ours.state()
				switch {
				case theirs == "" || (mustChange && theirs == before[p.name]) || theirs != ours:
					stable = 0
				case theirs == last:
					stable++
				default:
					stable = 1
				}
				last = theirs
				if time.Now().After(deadline) {
					t.Fatalf("%s, %s: Prometheus' groups and ours differ (or did not change):\n--- Prometheus\n%s\n--- ours\n%s", step, p.name, theirs, ours)
				}
				time.Sleep(50 * time.Millisecond)
			}
			now[p.name] = last
		}
		return now
	}
	state := compare("initial list", nil)

	byName := map[string]kubetest.Object{}
	for _, o := range fixtures() {
		byName[fmt.Sprintf("%T/%s/%s", o, o.GetNamespace(), o.GetName())] = o
	}
	get := func(kind any, ns, name string) kubetest.Object {
		return byName[fmt.Sprintf("%T/%s/%s", kind, ns, name)].DeepCopyObject().(kubetest.Object)
	}
	web1 := get(&corev1.Pod{}, "default", "web-1").(*corev1.Pod)
	web1.Labels["version"] = "v2"
	web1.Status.Phase = corev1.PodFailed // endpoints re-join a pod on a phase change only
	db0 := get(&corev1.Pod{}, "apps", "db-0").(*corev1.Pod)
	db0.Status.Phase = corev1.PodFailed
	newPod := testPod("apps", "new-1", "n1", "10.0.1.9", corev1.PodRunning, corev1.ConditionTrue, map[string]string{"tier": "db"})
	n1 := get(&corev1.Node{}, "", "n1").(*corev1.Node)
	n1.Labels["rack"] = "r7"
	n3 := get(&corev1.Node{}, "", "n3").(*corev1.Node)
	n3.Labels["rack"] = "r9"
	nsDefault := get(&corev1.Namespace{}, "", "default").(*corev1.Namespace)
	nsDefault.Annotations["owner/team"] = "platform"
	svc := get(&corev1.Service{}, "default", "web").(*corev1.Service)
	svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: "grpc", Port: 9000, Protocol: corev1.ProtocolTCP})
	svcDB := get(&corev1.Service{}, "apps", "db").(*corev1.Service)
	svcDB.Labels["changed"] = "yes"
	eps := get(&corev1.Endpoints{}, "default", "web").(*corev1.Endpoints) //nolint:staticcheck // the endpoints role reads it
	eps.Subsets[0].NotReadyAddresses = nil
	slice := get(&discoveryv1.EndpointSlice{}, "default", "web-abc").(*discoveryv1.EndpointSlice)
	slice.Endpoints[0].Conditions.Ready = ptr(false)
	ing := get(&networkingv1.Ingress{}, "default", "web").(*networkingv1.Ingress)
	ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: "z.example.com"})

	// Prometheus rebuilds a group only on the changes it has handlers for
	// (slices never on a pod change, endpoints on a pod's phase only), so a
	// step that changes joined objects comes before the step that makes
	// the groups rebuild: otherwise its result depends on which of its
	// informers was first.
	for _, step := range []struct {
		name      string
		apply     []kubetest.Object
		delete    []kubetest.Object
		unchanged []string
	}{
		{name: "pod updates", apply: []kubetest.Object{web1, db0, newPod},
			unchanged: []string{"service", "service-selector", "endpointslice", "endpointslice-ns", "node", "node-selector", "ingress"}},
		{name: "node and namespace updates", apply: []kubetest.Object{n1, n3, nsDefault},
			unchanged: []string{"pod", "service-selector", "endpoints-ns", "endpointslice-ns"}},
		{name: "service, endpoints, slice and ingress updates", apply: []kubetest.Object{svc, svcDB, eps, slice, ing},
			unchanged: []string{"pod", "pod-attach", "pod-selectors", "node", "node-selector"}},
		{name: "pod deletes", delete: []kubetest.Object{web1, get(&corev1.Pod{}, "default", "web-2"), newPod},
			unchanged: []string{"service", "service-selector", "endpoints", "endpoints-ns", "endpointslice", "endpointslice-ns", "node", "node-selector", "ingress"}},
		{name: "node deletes", delete: []kubetest.Object{n1, n3},
			unchanged: []string{"pod", "service", "service-selector", "endpoints-ns", "endpointslice-ns", "ingress"}},
		{name: "service, endpoints, slice and ingress deletes", delete: []kubetest.Object{get(&corev1.Service{}, "default", "lb"), svcDB,
			get(&corev1.Endpoints{}, "default", "orphan"), get(&discoveryv1.EndpointSlice{}, "default", "web-v6"), //nolint:staticcheck // as above
			get(&discoveryv1.EndpointSlice{}, "apps", "db-v4"), ing},
			unchanged: []string{"pod", "pod-attach", "pod-selectors", "service-selector", "node", "node-selector"}},
	} {
		for _, o := range step.apply {
			if _, err := api.Apply(o); err != nil {
				t.Fatal(err)
			}
		}
		for _, o := range step.delete {
			if ok, err := api.Delete(o); !ok || err != nil {
				t.Fatalf("delete %s: %v %v", o.GetName(), ok, err)
			}
		}
		state = compare(step.name, state, step.unchanged...)
	}
}

func newTheirs(t *testing.T, c *promk8s.SDConfig) promdisc.Discoverer {
	t.Helper()
	m := c.NewDiscovererMetrics(prometheus.NewRegistry(), nil)
	d, err := c.NewDiscoverer(promdisc.DiscovererOptions{Logger: slog.New(slog.DiscardHandler), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newOurs(t *testing.T, c *SDConfig) promdisc.Discoverer {
	t.Helper()
	m := c.NewDiscovererMetrics(prometheus.NewRegistry(), nil)
	d, err := c.NewDiscoverer(promdisc.DiscovererOptions{Logger: slog.New(slog.DiscardHandler), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func discovererOptions(c *SDConfig) promdisc.DiscovererOptions {
	return promdisc.DiscovererOptions{Logger: slog.New(slog.DiscardHandler), Metrics: c.NewDiscovererMetrics(prometheus.NewRegistry(), nil)}
}
