package kubernetes

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/promfwd/promfwd/internal/kubetest"
)

func ptr[T any](v T) *T { return &v }

func meta(ns, name string, labels, annotations map[string]string, owner ...metav1.OwnerReference) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, Annotations: annotations, OwnerReferences: owner}
}

func controller(kind, name string) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID("u-" + name), Controller: ptr(true)}
}

func podRef(ns, name string) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: name}
}

func testNode(name string, labels map[string]string, addrs ...corev1.NodeAddress) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: meta("", name, labels, map[string]string{"node.alpha.kubernetes.io/ttl": "0"}),
		Spec:       corev1.NodeSpec{ProviderID: "aws:///eu-west-1a/i-" + name},
		Status: corev1.NodeStatus{
			Addresses:       addrs,
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue},
				{Type: "Memory-Pressure", Status: corev1.ConditionFalse}},
		},
	}
}

func testPod(ns, name, node, ip string, phase corev1.PodPhase, ready corev1.ConditionStatus, labels map[string]string, owner ...metav1.OwnerReference) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: func() metav1.ObjectMeta {
			m := meta(ns, name, labels, map[string]string{"prometheus.io/scrape": "true", "example.com/build-id": "b-1"}, owner...)
			m.UID = types.UID("uid-" + ns + "-" + name)
			return m
		}(),
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{
				{Name: "app", Image: "registry/app:1", Ports: []corev1.ContainerPort{
					{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
					{ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
					{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}}},
				{Name: "sidecar", Image: "registry/sidecar:2"},
			},
			InitContainers: []corev1.Container{{Name: "init", Image: "registry/init:1",
				Ports: []corev1.ContainerPort{{Name: "init-port", ContainerPort: 7000, Protocol: corev1.ProtocolSCTP}}}},
		},
		Status: corev1.PodStatus{
			Phase: phase, PodIP: ip, HostIP: "192.168.1.10",
			Conditions:            []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: ready}},
			ContainerStatuses:     []corev1.ContainerStatus{{Name: "app", ContainerID: "containerd://app-" + name}, {Name: "sidecar", ContainerID: "containerd://side-" + name}},
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", ContainerID: "containerd://init-" + name}},
		},
	}
}

// fixtures is a small cluster with what the roles read: several
// namespaces, nodes with addresses of several types (one with none),
// pods with named and unnamed ports, init containers, IPv6 and no IP,
// owned by replica sets and jobs; services of every type, one dual-stack;
// endpoints with ready and not-ready addresses and node targets;
// endpoint slices of both families; an ingress with TLS and paths.
// Labels and annotations have characters that need sanitising.
func fixtures() []kubetest.Object {
	weird := map[string]string{"app.kubernetes.io/name": "web", "tier": "front", "ÄÖ-weird/ key": "v=1"}
	return []kubetest.Object{
		&corev1.Namespace{ObjectMeta: meta("", "default", map[string]string{"kubernetes.io/metadata.name": "default"}, map[string]string{"owner/team": "infra"})},
		&corev1.Namespace{ObjectMeta: meta("", "apps", map[string]string{"env": "prod"}, nil)},
		&corev1.Namespace{ObjectMeta: meta("", "other", nil, nil)},
		testNode("n1", map[string]string{"kubernetes.io/hostname": "n1", "topology.kubernetes.io/zone": "z1"},
			corev1.NodeAddress{Type: corev1.NodeHostName, Address: "n1.local"},
			corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "192.168.1.10"},
			corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "fd00::10"},
			corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.10"}),
		testNode("n2", map[string]string{"kubernetes.io/hostname": "n2"},
			corev1.NodeAddress{Type: corev1.NodeExternalDNS, Address: "n2.example.com"},
			corev1.NodeAddress{Type: corev1.NodeHostName, Address: "n2"}),
		testNode("n3", map[string]string{"kubernetes.io/hostname": "n3"}), // no address
		&appsv1.ReplicaSet{ObjectMeta: meta("default", "web-abc", nil, nil, controller("Deployment", "web"))},
		&batchv1.Job{ObjectMeta: meta("apps", "backup-1", nil, nil, controller("CronJob", "backup"))},
		testPod("default", "web-1", "n1", "10.0.0.1", corev1.PodRunning, corev1.ConditionTrue, weird, controller("ReplicaSet", "web-abc")),
		testPod("default", "web-2", "n2", "fd00::2", corev1.PodRunning, corev1.ConditionFalse, weird, controller("ReplicaSet", "web-abc")),
		testPod("default", "pending", "", "", corev1.PodPending, corev1.ConditionFalse, map[string]string{"app": "web"}),
		testPod("apps", "backup-1-x", "n1", "10.0.1.5", corev1.PodSucceeded, corev1.ConditionFalse, map[string]string{"job-name": "backup-1"}, controller("Job", "backup-1")),
		testPod("apps", "db-0", "n3", "10.0.1.6", corev1.PodRunning, corev1.ConditionTrue, map[string]string{"tier": "db"}, controller("StatefulSet", "db")),
		testPod("other", "x", "n2", "10.0.2.1", corev1.PodRunning, corev1.ConditionTrue, nil),
		&corev1.Service{ObjectMeta: meta("default", "web", map[string]string{"app": "web", "a.b/c-d": "e"}, map[string]string{"prometheus.io/port": "9090"}),
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10", Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}, {Name: "metrics", Port: 9090, Protocol: corev1.ProtocolTCP}}}},
		&corev1.Service{ObjectMeta: meta("default", "ext", nil, nil),
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com", Ports: []corev1.ServicePort{{Port: 443}}}},
		&corev1.Service{ObjectMeta: meta("default", "lb", nil, nil),
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.96.0.11", LoadBalancerIP: "198.51.100.1",
				Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}}},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "198.51.100.7"}, {Hostname: "lb.example.com"}, {IP: "198.51.100.8"}}}}},
		&corev1.Service{ObjectMeta: meta("apps", "db", map[string]string{"app": "db"}, nil),
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.1.1",
				IPFamilyPolicy: ptr(corev1.IPFamilyPolicyPreferDualStack), IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
				Ports: []corev1.ServicePort{{Name: "pg", Port: 5432, Protocol: corev1.ProtocolTCP}}}},
		&corev1.Endpoints{ObjectMeta: meta("default", "web", map[string]string{"app": "web"}, nil), //nolint:staticcheck // the endpoints role reads it
			Subsets: []corev1.EndpointSubset{{ //nolint:staticcheck // as above
				Addresses: []corev1.EndpointAddress{ //nolint:staticcheck // as above
					{IP: "10.0.0.1", Hostname: "web-1", NodeName: ptr("n1"), TargetRef: podRef("default", "web-1")},
					{IP: "192.168.1.10", TargetRef: &corev1.ObjectReference{Kind: "Node", Name: "n1"}},
					{IP: "10.0.0.99"}},
				NotReadyAddresses: []corev1.EndpointAddress{{IP: "fd00::2", NodeName: ptr("n2"), TargetRef: podRef("default", "web-2")}},                                  //nolint:staticcheck // as above
				Ports:             []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}, {Name: "dns", Port: 53, Protocol: corev1.ProtocolTCP}}, //nolint:staticcheck // as above
			}}},
		&corev1.Endpoints{ObjectMeta: meta("apps", "db", nil, nil), //nolint:staticcheck // as above
			Subsets: []corev1.EndpointSubset{{ //nolint:staticcheck // as above
				Addresses: []corev1.EndpointAddress{{IP: "10.0.1.6", NodeName: ptr("n3"), TargetRef: podRef("apps", "db-0")}}, //nolint:staticcheck // as above
				Ports:     []corev1.EndpointPort{{Name: "pg", Port: 5432, Protocol: corev1.ProtocolTCP}}}}},                   //nolint:staticcheck // as above
		&corev1.Endpoints{ObjectMeta: meta("default", "orphan", nil, nil)}, //nolint:staticcheck // as above
		&discoveryv1.EndpointSlice{ObjectMeta: meta("default", "web-abc", map[string]string{discoveryv1.LabelServiceName: "web"}, nil),
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.0.0.1"}, Hostname: ptr("web-1"), NodeName: ptr("n1"), Zone: ptr("z1"), TargetRef: podRef("default", "web-1"),
					Conditions:         discoveryv1.EndpointConditions{Ready: ptr(true), Serving: ptr(true), Terminating: ptr(false)},
					DeprecatedTopology: map[string]string{"topology.kubernetes.io/zone": "z1"}},
				{Addresses: []string{"192.168.1.20"}, TargetRef: &corev1.ObjectReference{Kind: "Node", Name: "n2"}},
			},
			Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080)), Protocol: ptr(corev1.ProtocolTCP), AppProtocol: ptr("http")}, {}}},
		&discoveryv1.EndpointSlice{ObjectMeta: meta("default", "web-v6", map[string]string{discoveryv1.LabelServiceName: "web"}, nil),
			AddressType: discoveryv1.AddressTypeIPv6,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"fd00::2"}, NodeName: ptr("n2"), TargetRef: podRef("default", "web-2"), Conditions: discoveryv1.EndpointConditions{Ready: ptr(false)}}},
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("metrics"), Port: ptr(int32(9090)), Protocol: ptr(corev1.ProtocolTCP)}}},
		&discoveryv1.EndpointSlice{ObjectMeta: meta("apps", "db-v4", map[string]string{discoveryv1.LabelServiceName: "db"}, nil),
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.1.6"}, NodeName: ptr("n3"), TargetRef: podRef("apps", "db-0")}},
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("pg"), Port: ptr(int32(5432)), Protocol: ptr(corev1.ProtocolTCP)}}},
		&discoveryv1.EndpointSlice{ObjectMeta: meta("apps", "db-v6", map[string]string{discoveryv1.LabelServiceName: "db"}, nil),
			AddressType: discoveryv1.AddressTypeIPv6,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"fd00::16"}, TargetRef: podRef("apps", "db-0")}},
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("pg"), Port: ptr(int32(5432))}}},
		testIngress(),
	}
}

func testIngress() *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	paths := func(ps ...string) *networkingv1.HTTPIngressRuleValue {
		v := &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{}}
		for _, p := range ps {
			v.Paths = append(v.Paths, networkingv1.HTTPIngressPath{Path: p, PathType: &prefix})
		}
		return v
	}
	return &networkingv1.Ingress{ObjectMeta: meta("default", "web", map[string]string{"app": "web"}, map[string]string{"nginx.ingress.kubernetes.io/rewrite-target": "/"}),
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr("nginx"),
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{"*.example.com"}}, {Hosts: []string{"exact.org"}}},
			Rules: []networkingv1.IngressRule{
				{Host: "a.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: paths("/", "/api", "")}},
				{Host: "a.b.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: paths("/x")}},
				{Host: "exact.org"},
				{Host: "plain.org", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: paths()}},
			},
		}}
}
