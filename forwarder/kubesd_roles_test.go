//go:build !nokubernetes

package forwarder

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/promfwd/promfwd/internal/kubetest"
	"github.com/promfwd/promfwd/sinks/stdout"
)

// TestKubernetesSDRoles: each of the roles service, node, endpoints and
// endpointslice discovers its targets from kubetest with Prometheus'
// addresses and __meta_kubernetes_* labels (joined with the service and
// pod where the role does), promfwd scrapes them on 127.0.0.1, and
// deleting the object removes the target.
func TestKubernetesSDRoles(t *testing.T) {
	fl := newFleet(t)
	host, portStr, _ := net.SplitHostPort(fl.host())
	p, _ := strconv.Atoi(portStr)
	port := int32(p)
	ready := true
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{ClusterIP: host, Type: corev1.ServiceTypeClusterIP,
			Ports: []corev1.ServicePort{{Name: "metrics", Port: port, Protocol: corev1.ProtocolTCP}}},
	}
	pod := kubePod("ns", "web-0", fl, "/unused", port)
	ref := &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "web-0"}
	for _, tc := range []struct {
		role    string
		objects []kubetest.Object
		gone    kubetest.Object // deleting it removes the target
		labels  map[string]string
	}{
		{"service", []kubetest.Object{svc}, svc, map[string]string{
			"service_name": "web", "service_port_name": "metrics", "service_label_team": "a", "service_cluster_ip": host}},
		{"node", []kubetest.Object{&corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{"zone": "z1"}},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: host}},
				DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: port}}},
		}}, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}, map[string]string{
			"node_name": "node-1", "node_label_zone": "z1", "node_address_InternalIP": host}},
		{"endpoints", []kubetest.Object{svc, pod, &corev1.Endpoints{ //nolint:staticcheck // the endpoints role reads it
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"},
			Subsets: []corev1.EndpointSubset{{ //nolint:staticcheck // as above
				Addresses: []corev1.EndpointAddress{{IP: host, TargetRef: ref}},   //nolint:staticcheck // as above
				Ports:     []corev1.EndpointPort{{Name: "metrics", Port: port}}}}, //nolint:staticcheck // as above
		}}, &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}, map[string]string{ //nolint:staticcheck // as above
			"endpoints_name": "web", "endpoint_port_name": "metrics", "endpoint_ready": "true",
			"service_name": "web", "pod_name": "web-0", "namespace": "ns"}},
		{"endpointslice", []kubetest.Object{svc, pod, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: "web-abc", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{host}, TargetRef: ref,
				Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
			Ports: []discoveryv1.EndpointPort{{Name: ptr("metrics"), Port: &port}},
		}}, &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-abc"}}, map[string]string{
			"endpointslice_name": "web-abc", "endpointslice_port_name": "metrics", "endpointslice_endpoint_conditions_ready": "true",
			"service_name": "web", "pod_name": "web-0"}},
	} {
		t.Run(tc.role, func(t *testing.T) {
			api := kubetest.NewServer(kubetest.Options{})
			t.Cleanup(api.Close)
			kubeApply(t, api, tc.objects...)
			keep := ""
			if tc.role == "service" { // a service's address is its DNS name: scrape its cluster IP
				keep = `
      - {source_labels: [__meta_kubernetes_service_cluster_ip, __meta_kubernetes_service_port_number], regex: "(.+);(.+)", target_label: __address__, replacement: "$1:$2"}`
			}
			cfg, err := loadWith("/etc/promfwd/promfwd.yaml", []byte(fmt.Sprintf(`
server: {listen: ""}
sources:
  - name: k
    interval: 1s
    kubernetes_sd_configs: [{role: %s, api_server: %q}]
    relabel_configs:%s
      - {target_label: __metrics_path__, replacement: /%s}
      - {action: labelmap, regex: __meta_kubernetes_(.+)}
sinks: [{name: out, type: stdout, max_request_bytes: 65536}]
`, tc.role, api.URL(), keep, tc.role)), testEnv(nil), os.Hostname)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Sinks[0].Settings.(*stdout.Config).Writer = io.Discard
			r := runFleet(t, cfg, Options{SDUpdateEvery: -1})
			url := "http://" + fl.host() + "/" + tc.role
			awaitCond(t, "the "+tc.role+" target", func() bool {
				u := targetURLs(r.f)
				return len(u) == 1 && u[0] == url
			})
			got := onlyTargetLabels(r.f)
			for k, v := range tc.labels {
				if got[k] != v {
					t.Errorf("label %s = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
			awaitCond(t, tc.role+" scraped", func() bool { return fl.scraped("/" + tc.role) })
			if ok, err := api.Delete(tc.gone); !ok || err != nil {
				t.Fatalf("delete: %v %v", ok, err)
			}
			awaitCond(t, "no target once the object is deleted", func() bool { return len(targetURLs(r.f)) == 0 })
		})
	}
}

func ptr[T any](v T) *T { return &v }

// onlyTargetLabels returns the target labels of f's only target.
func onlyTargetLabels(f *Forwarder) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sj := range f.sources {
		return sj.src.cfg.Labels
	}
	return nil
}
