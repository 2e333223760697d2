//go:build !nokubernetes

package forwarder

import (
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/promfwd/promfwd/internal/kubetest"
)

// kubeRecipe is the relabel_configs block of Prometheus' Kubernetes example
// (and deploy/kubernetes): keep pods annotated prometheus.io/scrape=true,
// take scheme, path and port from the annotations, map the pod's labels.
const kubeRecipe = `
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        action: keep
        regex: "true"
      - source_labels: [__meta_kubernetes_pod_phase]
        action: drop
        regex: Pending|Succeeded|Failed|Completed
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scheme]
        action: replace
        regex: (https?)
        target_label: __scheme__
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
        action: replace
        regex: (.+)
        target_label: __metrics_path__
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port, __meta_kubernetes_pod_ip]
        action: replace
        regex: (\d+);(([A-Fa-f0-9]{1,4}::?){1,7}[A-Fa-f0-9]{1,4})
        replacement: '[$2]:$1'
        target_label: __address__
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port, __meta_kubernetes_pod_ip]
        action: replace
        regex: (\d+);((([0-9]+?)(\.|$)){4})
        replacement: $2:$1
        target_label: __address__
      - action: labelmap
        regex: __meta_kubernetes_pod_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
`

// kubePod is a running pod on 127.0.0.1 annotated to be scraped at
// fl's port and path; it declares container ports that are not the
// metrics port, so only the annotation can lead there.
func kubePod(ns, name string, fl *fleet, path string, ports ...int32) *corev1.Pod {
	_, port, _ := net.SplitHostPort(fl.host())
	c := corev1.Container{Name: "app"}
	for _, p := range ports {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: "p" + strconv.Itoa(int(p)), ContainerPort: p, Protocol: corev1.ProtocolTCP})
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{"app": name, "tier": "web"},
			Annotations: map[string]string{"prometheus.io/scrape": "true",
				"prometheus.io/port": port, "prometheus.io/path": path}},
		Spec:   corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{c}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1", HostIP: "127.0.0.1"},
	}
}

func kubeApply(t *testing.T, s *kubetest.Server, objs ...kubetest.Object) {
	t.Helper()
	for _, o := range objs {
		if _, err := s.Apply(o); err != nil {
			t.Fatal(err)
		}
	}
}

// targetURLs lists the URLs of f's scheduled targets, sorted (a URL twice
// is two targets).
func targetURLs(f *Forwarder) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, sj := range f.sources {
		out = append(out, sj.src.target.URL())
	}
	slices.Sort(out)
	return out
}

// TestKubernetesSDPods: promfwd discovers the pods annotated
// prometheus.io/scrape=true through a Kubernetes API server (kubetest,
// real HTTP list and watch) with Prometheus' recipe, in the listed
// namespaces and within the label selector, and scrapes them on
// 127.0.0.1 at the annotated port and path, with the recipe's labels.
// Adding a pod starts a target; deleting one, changing its path
// annotation or a label ends the old target with stale markers and
// deletes its self-metrics; leaving the selector or turning the
// annotation off removes it. Covered both through a kubeconfig file (TLS,
// token, watch-list streaming) and through api_server with a bearer token
// (plain HTTP, a server that answers list then watch).
func TestKubernetesSDPods(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts kubetest.Options
		auth func(t *testing.T, s *kubetest.Server) string
	}{
		{"kubeconfig", kubetest.Options{Token: "k8s-token", TLS: true}, func(t *testing.T, s *kubetest.Server) string {
			p := filepath.Join(t.TempDir(), "kubeconfig")
			if err := s.WriteKubeconfig(p); err != nil {
				t.Fatal(err)
			}
			return "kubeconfig_file: " + p
		}},
		{"api_server", kubetest.Options{Token: "k8s-token", NoWatchList: true}, func(t *testing.T, s *kubetest.Server) string {
			return fmt.Sprintf("api_server: %s\n        bearer_token: k8s-token", s.URL())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { testKubernetesSDPods(t, tc.opts, tc.auth) })
	}
}

func testKubernetesSDPods(t *testing.T, opts kubetest.Options, auth func(*testing.T, *kubetest.Server) string) {
	api := kubetest.NewServer(opts)
	t.Cleanup(api.Close)
	// Each pod has its own target server (as each pod has its own IP);
	// x serves the pods that must never be scraped.
	a, b, c, x := newFleet(t), newFleet(t), newFleet(t), newFleet(t)
	url := func(fl *fleet, path string) string { return "http://" + fl.host() + path }

	p1 := kubePod("default", "p1", a, "/p1", 9999, 9998) // two ports, one target
	p2 := kubePod("apps", "p2", b, "/p2", 9999)
	p3 := kubePod("default", "p3", x, "/p3")
	delete(p3.Annotations, "prometheus.io/scrape")
	p4 := kubePod("default", "p4", x, "/p4")
	p4.Annotations["prometheus.io/scrape"] = "false"
	p5 := kubePod("default", "p5", x, "/p5")
	p5.Status.Phase = corev1.PodSucceeded
	p6 := kubePod("other", "p6", x, "/p6") // namespace not listed
	p7 := kubePod("default", "p7", x, "/p7")
	p7.Labels["tier"] = "batch" // outside the selector
	kubeApply(t, api, p1, p2, p3, p4, p5, p6, p7)

	rw := newRWCapture(t)
	r := runFleetConfig(t, "/etc/promfwd/promfwd.yaml", fmt.Sprintf(`
server: {listen: ""}
sources:
  - name: pods
    interval: 1s
    kubernetes_sd_configs:
      - role: pod
        %s
        namespaces: {names: [default, apps]}
        selectors: [{role: pod, label: "tier!=batch"}]
%s
sinks:
  - {name: rw, type: remote_write, url: %q, flush_interval: 100ms}
`, auth(t, api), kubeRecipe, rw.URL()), "", Options{SDUpdateEvery: -1})

	expectTargets := func(what string, want ...string) {
		t.Helper()
		slices.Sort(want)
		awaitCond(t, what, func() bool { return reflect.DeepEqual(targetURLs(r.f), want) })
		awaitCond(t, what+": self-metrics of exactly those targets", func() bool {
			return len(sourceLabels(t, r.f, "promfwd_source_up")) == len(want)
		})
	}
	series := func(fl *fleet, p *corev1.Pod, path string) map[string]string {
		return map[string]string{"__name__": "fleet_up", "path": path, "instance": fl.host(), "job": "pods",
			"namespace": p.Namespace, "pod": p.Name, "app": p.Labels["app"], "tier": p.Labels["tier"]}
	}
	expectTargets("the annotated pods in the listed namespaces and the selector", url(a, "/p1"), url(b, "/p2"))
	awaitCond(t, "p1 and p2 scraped with the recipe's labels", func() bool {
		return rw.has(series(a, p1, "/p1")) && rw.has(series(b, p2, "/p2"))
	})

	// A new pod (no declared port: the annotation gives it).
	start := time.Now()
	p8 := kubePod("default", "p8", c, "/p8")
	kubeApply(t, api, p8)
	awaitCond(t, "the new pod scraped", func() bool { return c.scraped("/p8") })
	t.Logf("new pod scraped %v after it was created", time.Since(start))
	expectTargets("p8 added", url(a, "/p1"), url(b, "/p2"), url(c, "/p8"))

	// A deleted pod: its target goes, with stale markers.
	if ok, err := api.Delete(p1); !ok || err != nil {
		t.Fatalf("delete p1: %v %v", ok, err)
	}
	expectTargets("p1 deleted", url(b, "/p2"), url(c, "/p8"))
	awaitCond(t, "stale marker for the deleted pod", func() bool { return rw.staleFor(series(a, p1, "/p1")) })

	// A changed path annotation moves the target.
	p2.Annotations["prometheus.io/path"] = "/p2b"
	kubeApply(t, api, p2)
	expectTargets("p2's path changed", url(b, "/p2b"), url(c, "/p8"))
	awaitCond(t, "p2 scraped at the new path", func() bool { return b.scraped("/p2b") })
	awaitCond(t, "stale marker for p2's old path", func() bool { return rw.staleFor(series(b, p2, "/p2")) })

	// A changed label relabels the target's series.
	old := series(c, p8, "/p8")
	p8.Labels["app"] = "renamed"
	kubeApply(t, api, p8)
	awaitCond(t, "p8's series under the new label", func() bool { return rw.has(series(c, p8, "/p8")) })
	awaitCond(t, "stale marker for p8's series under the old label", func() bool { return rw.staleFor(old) })

	// Out of the selector, then the annotation turned off.
	p8.Labels["tier"] = "batch"
	kubeApply(t, api, p8)
	expectTargets("p8 left the selector", url(b, "/p2b"))
	p2.Annotations["prometheus.io/scrape"] = "false"
	kubeApply(t, api, p2)
	expectTargets("p2 no longer annotated")

	for _, p := range []string{"/p3", "/p4", "/p5", "/p6", "/p7"} {
		if x.scraped(p) {
			t.Errorf("%s scraped: its pod is not annotated, not running, or outside the namespaces or selector", p)
		}
	}
	if st := api.Stats(); st.Watches < 2 {
		t.Errorf("API server stats %+v: want a watch per namespace", st)
	}
}
