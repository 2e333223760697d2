package kubetest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

func pod(ns, name string, labels map[string]string, ip string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip},
	}
}

func mustApply(t *testing.T, s *Server, o Object) {
	t.Helper()
	if _, err := s.Apply(o); err != nil {
		t.Fatal(err)
	}
}

func newClient(t *testing.T, s *Server) *kubernetes.Clientset {
	t.Helper()
	cfg := &rest.Config{Host: s.URL(), BearerToken: s.opts.Token}
	cfg.ContentType = "application/vnd.kubernetes.protobuf" // as Prometheus asks
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// podLog records what an informer's handlers saw, as "add ns/name" lines.
type podLog chan string

func (l podLog) handler() cache.ResourceEventHandlerFuncs {
	name := func(o any) string {
		if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = d.Obj
		}
		p := o.(*corev1.Pod)
		return p.Namespace + "/" + p.Name + " " + p.Labels["v"]
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { l <- "add " + name(o) },
		UpdateFunc: func(_, o any) { l <- "update " + name(o) },
		DeleteFunc: func(o any) { l <- "delete " + name(o) },
	}
}

func (l podLog) expect(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-l:
			if got != w {
				t.Fatalf("informer saw %q, want %q", got, w)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("informer did not see %q within 30s", w)
		}
	}
}

// watchPods starts f with a pod informer whose events go to the returned
// log. Defer stop (before the server's Close, so the informer ends first).
func watchPods(t *testing.T, f informers.SharedInformerFactory) (log podLog, stop func()) {
	t.Helper()
	log = podLog(make(chan string, 100))
	if _, err := f.Core().V1().Pods().Informer().AddEventHandler(log.handler()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	f.Start(ctx.Done())
	return log, func() { cancel(); f.Shutdown() }
}

// TestInformerFollowsChanges runs client-go's pod informer, as Prometheus'
// discovery does, against the server in both of the client's modes
// (watch-list streaming, and list then watch when the server refuses it),
// with and without a bearer token and a label selector.
func TestInformerFollowsChanges(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"watchlist", Options{}},
		{"list-then-watch", Options{NoWatchList: true}},
		{"token", Options{Token: "s3cret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(tc.opts)
			defer s.Close()
			mustApply(t, s, pod("a", "p1", map[string]string{"app": "x", "v": "1"}, "10.0.0.1"))
			mustApply(t, s, pod("b", "p2", map[string]string{"app": "y", "v": "1"}, "10.0.0.2"))
			f := informers.NewSharedInformerFactoryWithOptions(newClient(t, s), 0,
				informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = "app=x" }))
			log, stop := watchPods(t, f)
			defer stop()
			log.expect(t, "add a/p1 1")
			mustApply(t, s, pod("b", "p3", map[string]string{"app": "x", "v": "1"}, "10.0.0.3"))
			log.expect(t, "add b/p3 1")
			mustApply(t, s, pod("a", "p1", map[string]string{"app": "x", "v": "2"}, "10.0.0.1"))
			log.expect(t, "update a/p1 2")
			// Out of the selector is a delete for this watcher, back in an add.
			mustApply(t, s, pod("b", "p3", map[string]string{"app": "y", "v": "2"}, "10.0.0.3"))
			log.expect(t, "delete b/p3 2")
			mustApply(t, s, pod("b", "p2", map[string]string{"app": "x", "v": "3"}, "10.0.0.2"))
			log.expect(t, "add b/p2 3")
			if ok, err := s.Delete(pod("a", "p1", nil, "")); !ok || err != nil {
				t.Fatalf("Delete: %v %v", ok, err)
			}
			log.expect(t, "delete a/p1 2")
			st := s.Stats()
			if st.Watches == 0 || (tc.opts.NoWatchList && st.Lists == 0) || (!tc.opts.NoWatchList && st.Lists != 0) {
				t.Errorf("stats %+v: want watch-list only, or a list when the server refuses it", st)
			}
			if !f.Core().V1().Pods().Informer().HasSynced() { // the factory's shared informer
				t.Error("informer not synced")
			}
		})
	}
}

// TestServesEveryRole lists each kind the discovery roles read, through
// client-go's typed clients built from a kubeconfig the server wrote.
func TestServesEveryRole(t *testing.T) {
	s := NewServer(Options{Token: "tok", TLS: true})
	defer s.Close()
	port := int32(8080)
	for _, o := range []Object{
		pod("ns", "p", nil, "10.0.0.1"),
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "svc"}},
		&corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "svc"}}, //nolint:staticcheck // served for the endpoints role
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "svc-abc"},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}},
			Ports:       []discoveryv1.EndpointPort{{Port: &port}}},
	} {
		mustApply(t, s, o)
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := s.WriteKubeconfig(kc); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	names := func(n int, err error) string { return fmt.Sprint(n, err) }
	for what, got := range map[string]string{
		"pods":           names(lenOf(c.CoreV1().Pods("").List(ctx, metav1.ListOptions{}))),
		"services":       names(lenOf(c.CoreV1().Services("ns").List(ctx, metav1.ListOptions{}))),
		"endpoints":      names(lenOf(c.CoreV1().Endpoints("ns").List(ctx, metav1.ListOptions{}))), //nolint:staticcheck // as above
		"nodes":          names(lenOf(c.CoreV1().Nodes().List(ctx, metav1.ListOptions{}))),
		"endpointslices": names(lenOf(c.DiscoveryV1().EndpointSlices("ns").List(ctx, metav1.ListOptions{}))),
		"other ns":       names(lenOf(c.CoreV1().Pods("other").List(ctx, metav1.ListOptions{}))),
		"field selector": names(lenOf(c.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=node-2"}))),
	} {
		want := "1 <nil>"
		if what == "other ns" || what == "field selector" {
			want = "0 <nil>"
		}
		if got != want {
			t.Errorf("%s: got %s, want %s", what, got, want)
		}
	}
	if _, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.bogus=1"}); err == nil || !strings.Contains(err.Error(), "field label not supported") {
		t.Errorf("unsupported field selector: %v", err)
	}
	cfg.BearerToken = "wrong"
	bad, _ := kubernetes.NewForConfig(cfg)
	if _, err := bad.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("wrong token: %v", err)
	}
}

func lenOf[L interface{ GetResourceVersion() string }](l L, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	b, _ := json.Marshal(l)
	var v struct{ Items []json.RawMessage }
	_ = json.Unmarshal(b, &v)
	return len(v.Items), nil
}

// readEvents reads n watch events from a raw watch request.
func readEvents(t *testing.T, url string, n int) []string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("watch answered %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	var out []string
	for len(out) < n && sc.Scan() {
		var e struct {
			Type   string
			Object struct {
				Metadata struct{ Name, ResourceVersion string }
				Code     int
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("event %q: %v", sc.Text(), err)
		}
		out = append(out, fmt.Sprintf("%s %s@%s%d", e.Type, e.Object.Metadata.Name, e.Object.Metadata.ResourceVersion, e.Object.Code))
	}
	return out
}

// TestWatchResumesOrExpires: a watch from version N replays what happened
// after N; a version older than the kept history gets 410 Expired, which
// makes client-go relist.
func TestWatchResumesOrExpires(t *testing.T) {
	s := NewServer(Options{History: 3})
	defer s.Close()
	for i := range 5 { // versions 1..5
		mustApply(t, s, pod("ns", fmt.Sprintf("p%d", i), nil, ""))
	}
	base := s.URL() + "/api/v1/namespaces/ns/pods?watch=true&resourceVersion="
	if got, want := strings.Join(readEvents(t, base+"3", 2), ","), "ADDED p3@40,ADDED p4@50"; got != want {
		t.Errorf("resume from 3: %s, want %s", got, want)
	}
	if got, want := strings.Join(readEvents(t, base+"1", 1), ","), "ERROR @410"; got != want {
		t.Errorf("resume from 1 (history keeps 3..5): %s, want %s", got, want)
	}
	if got, want := strings.Join(readEvents(t, base+"2", 1), ","), "ADDED p2@30"; got != want {
		t.Errorf("resume from 2: %s, want %s", got, want)
	}
	if got, want := strings.Join(readEvents(t, base+"0", 5), ","), "ADDED p0@10,ADDED p1@20,ADDED p2@30,ADDED p3@40,ADDED p4@50"; got != want {
		t.Errorf("from 0: %s, want %s", got, want)
	}
	got := readEvents(t, base+"&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true", 6)
	if len(got) != 6 || got[5] != "BOOKMARK @50" {
		t.Errorf("watch-list: %v, want 5 ADDED then the bookmark at 5", got)
	}
}

// TestFailAndHeal: while failing, requests get the status and watches end;
// an informer resyncs once the server heals and sees what changed.
func TestFailAndHeal(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	mustApply(t, s, pod("ns", "p1", map[string]string{"v": "1"}, ""))
	f := informers.NewSharedInformerFactory(newClient(t, s), 0)
	log, stop := watchPods(t, f)
	defer stop()
	log.expect(t, "add ns/p1 1")
	s.Fail(http.StatusServiceUnavailable)
	resp, err := http.Get(s.URL() + "/api/v1/pods")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("failing server answered %s", resp.Status)
	}
	mustApply(t, s, pod("ns", "p2", map[string]string{"v": "1"}, ""))
	s.Fail(0)
	deadline := time.After(30 * time.Second)
	for { // a relist may also report p1 as updated (unchanged)
		select {
		case got := <-log:
			if got == "add ns/p2 1" {
				return
			}
			if got != "update ns/p1 1" {
				t.Fatalf("informer saw %q", got)
			}
		case <-deadline:
			t.Fatal("informer did not see p2 within 30s of the server healing")
		}
	}
}
