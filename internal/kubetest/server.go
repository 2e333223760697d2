// Package kubetest is a Kubernetes API server for tests, without a cluster:
// an HTTP server on 127.0.0.1 that speaks the API's JSON for pods,
// endpoints, endpointslices, services, nodes, namespaces, ingresses,
// replicasets and jobs, with list and watch
// (chunked watch events, resource versions, label and field selectors,
// watch-list streaming with the initial-events-end bookmark, 410 Gone for
// compacted versions), enough for client-go's informers and so for
// Prometheus' Kubernetes discovery. Tests add, update and delete objects
// with Apply and Delete; WriteKubeconfig points a client at the server.
package kubetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Object is what the server stores: any of *corev1.Pod, *corev1.Endpoints,
// *corev1.Service, *corev1.Node, *corev1.Namespace,
// *discoveryv1.EndpointSlice, *networkingv1.Ingress, *appsv1.ReplicaSet and
// *batchv1.Job.
type Object interface {
	metav1.Object
	runtime.Object
}

// Options configure a Server. The zero value serves without auth.
type Options struct {
	// Token, when set, is the bearer token every request must carry.
	Token string
	// TLS serves https with httptest's certificate (CAPEM returns it).
	// client-go sends a kubeconfig's credentials only over TLS.
	TLS bool
	// NoWatchList answers watch-list requests (sendInitialEvents=true) as
	// an API server without that feature does (422), so clients fall back
	// to list then watch.
	NoWatchList bool
	// History is how many events (at least) the server keeps for watches
	// that resume from a resource version (default 100,000); an older
	// version gets 410 Gone, as after etcd compaction.
	History int
}

// Server is a running test API server. Its methods are safe for
// concurrent use.
type Server struct {
	opts Options
	srv  *httptest.Server

	mu      sync.Mutex
	rv      int64
	uid     int64
	objects map[*resource]map[string]*stored // key namespace/name
	history []event                          // oldest first
	changed chan struct{}                    // closed and replaced on every event
	failing int                              // HTTP status every request gets; 0 = healthy

	lists, watches, openWatches, failed atomic.Int64
}

// stored is one object as served: its metadata for selectors and its JSON.
type stored struct {
	namespace, name string
	labels          map[string]string
	fields          fields.Set
	json            []byte
	rv              int64
}

type event struct {
	typ      string // ADDED, MODIFIED, DELETED
	res      *resource
	rv       int64
	old, obj *stored // old is nil for ADDED
}

// NewServer starts a server on 127.0.0.1.
func NewServer(opts Options) *Server {
	if opts.History <= 0 {
		opts.History = 100_000
	}
	s := &Server{opts: opts, objects: map[*resource]map[string]*stored{}, changed: make(chan struct{})}
	for i := range resources {
		s.objects[&resources[i]] = map[string]*stored{}
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.srv.Config.ReadHeaderTimeout = 10 * time.Second
	if opts.TLS {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	return s
}

// URL is the server's base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.srv.URL }

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.srv.Listener.Addr().String() }

// Close ends open watches and stops the server.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Stats counts the requests served so far.
type Stats struct {
	Lists, Watches, OpenWatches int64
	Failed                      int64 // answered with the Fail status
}

// Stats returns the request counters.
func (s *Server) Stats() Stats {
	return Stats{Lists: s.lists.Load(), Watches: s.watches.Load(), OpenWatches: s.openWatches.Load(), Failed: s.failed.Load()}
}

// Fail makes every new request answer with HTTP status code (0 heals the
// server) and ends open watches, as an API server outage does.
func (s *Server) Fail(code int) {
	s.mu.Lock()
	s.failing = code
	s.mu.Unlock()
	if code != 0 {
		s.srv.CloseClientConnections()
	}
}

// ResourceVersion is the server's current resource version.
func (s *Server) ResourceVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strconv.FormatInt(s.rv, 10)
}

// Apply creates obj or replaces the stored object of the same kind,
// namespace and name, and tells watchers (ADDED or MODIFIED). The server
// sets the resource version, and a UID and creation time on creation; obj
// itself is not modified. It returns the new resource version.
func (s *Server) Apply(obj Object) (string, error) {
	res, err := resourceOf(obj)
	if err != nil {
		return "", err
	}
	if obj.GetName() == "" {
		return "", fmt.Errorf("kubetest: apply %s: no name", res.kind)
	}
	if res.namespaced && obj.GetNamespace() == "" {
		return "", fmt.Errorf("kubetest: apply %s %s: no namespace", res.kind, obj.GetName())
	}
	c := obj.DeepCopyObject().(Object)
	c.GetObjectKind().SetGroupVersionKind(res.gvk())
	s.mu.Lock()
	defer s.mu.Unlock()
	key := c.GetNamespace() + "/" + c.GetName()
	old := s.objects[res][key]
	if old == nil {
		if c.GetUID() == "" {
			s.uid++
			c.SetUID(types.UID(fmt.Sprintf("kubetest-%08d", s.uid)))
		}
		if ct := c.GetCreationTimestamp(); ct.IsZero() {
			c.SetCreationTimestamp(metav1.NewTime(time.Now().Truncate(time.Second)))
		}
	}
	s.rv++
	c.SetResourceVersion(strconv.FormatInt(s.rv, 10))
	st, err := s.store(res, c)
	if err != nil {
		s.rv--
		return "", err
	}
	s.objects[res][key] = st
	typ := "MODIFIED"
	if old == nil {
		typ = "ADDED"
	}
	s.recordLocked(event{typ: typ, res: res, rv: s.rv, old: old, obj: st})
	return c.GetResourceVersion(), nil
}

// Delete removes the object of obj's kind, namespace and name and tells
// watchers (DELETED, carrying the last state). It reports whether there
// was such an object.
func (s *Server) Delete(obj Object) (bool, error) {
	res, err := resourceOf(obj)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := obj.GetNamespace() + "/" + obj.GetName()
	old := s.objects[res][key]
	if old == nil {
		return false, nil
	}
	delete(s.objects[res], key)
	s.rv++
	// The DELETED event carries the last state at the deletion's version.
	var last map[string]any
	if err := json.Unmarshal(old.json, &last); err != nil {
		return false, fmt.Errorf("kubetest: delete %s %s: %w", res.kind, key, err)
	}
	last["metadata"].(map[string]any)["resourceVersion"] = strconv.FormatInt(s.rv, 10)
	data, err := json.Marshal(last)
	if err != nil {
		return false, fmt.Errorf("kubetest: delete %s %s: %w", res.kind, key, err)
	}
	gone := *old
	gone.json, gone.rv = data, s.rv
	s.recordLocked(event{typ: "DELETED", res: res, rv: s.rv, old: old, obj: &gone})
	return true, nil
}

func (s *Server) store(res *resource, obj Object) (*stored, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("kubetest: encode %s %s: %w", res.kind, obj.GetName(), err)
	}
	return &stored{
		namespace: obj.GetNamespace(),
		name:      obj.GetName(),
		labels:    obj.GetLabels(),
		fields:    res.fieldSet(obj),
		json:      data,
		rv:        s.rv,
	}, nil
}

func (s *Server) recordLocked(e event) {
	s.history = append(s.history, e)
	// Trim in steps of a quarter, not per event: a copy of the whole
	// history on every change would make long runs quadratic.
	if len(s.history) > s.opts.History+s.opts.History/4 {
		s.history = append(s.history[:0:0], s.history[len(s.history)-s.opts.History:]...)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// resource is one served kind and its URL name.
type resource struct {
	group, version, plural, kind string
	namespaced                   bool
	zero                         Object // an empty object of the Go type served; never modified
}

// resources the server serves: the ones Kubernetes discovery watches for
// its six roles and attach_metadata.
var resources = [...]resource{
	{"", "v1", "pods", "Pod", true, &corev1.Pod{}},
	{"", "v1", "endpoints", "Endpoints", true, &corev1.Endpoints{}}, //nolint:staticcheck // the endpoints role reads it
	{"", "v1", "services", "Service", true, &corev1.Service{}},
	{"", "v1", "nodes", "Node", false, &corev1.Node{}},
	{"", "v1", "namespaces", "Namespace", false, &corev1.Namespace{}},
	{"discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, &discoveryv1.EndpointSlice{}},
	{"networking.k8s.io", "v1", "ingresses", "Ingress", true, &networkingv1.Ingress{}},
	{"apps", "v1", "replicasets", "ReplicaSet", true, &appsv1.ReplicaSet{}},
	{"batch", "v1", "jobs", "Job", true, &batchv1.Job{}},
}

func (r *resource) apiVersion() string {
	if r.group == "" {
		return r.version
	}
	return r.group + "/" + r.version
}

func resourceOf(obj Object) (*resource, error) {
	t := reflect.TypeOf(obj)
	for i := range resources {
		if reflect.TypeOf(resources[i].zero) == t {
			return &resources[i], nil
		}
	}
	return nil, fmt.Errorf("kubetest: %T is not served", obj)
}

// fieldSet is what field selectors match, as the API server offers it for
// each kind (metadata.name and metadata.namespace everywhere).
func (r *resource) fieldSet(obj Object) fields.Set {
	f := fields.Set{"metadata.name": obj.GetName()}
	if r.namespaced {
		f["metadata.namespace"] = obj.GetNamespace()
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		f["spec.nodeName"] = o.Spec.NodeName
		f["spec.restartPolicy"] = string(o.Spec.RestartPolicy)
		f["spec.schedulerName"] = o.Spec.SchedulerName
		f["spec.serviceAccountName"] = o.Spec.ServiceAccountName
		f["status.phase"] = string(o.Status.Phase)
		f["status.podIP"] = o.Status.PodIP
		f["status.nominatedNodeName"] = o.Status.NominatedNodeName
	case *corev1.Node:
		f["spec.unschedulable"] = strconv.FormatBool(o.Spec.Unschedulable)
	case *corev1.Namespace:
		f["status.phase"] = string(o.Status.Phase)
	case *discoveryv1.EndpointSlice:
		f["addressType"] = string(o.AddressType)
	}
	return f
}

func (r *resource) gvk() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: r.group, Version: r.version, Kind: r.kind}
}
