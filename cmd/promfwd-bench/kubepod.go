package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// benchPod is pod i of the benchmark, about the size of a real one (two
// containers with env, probes, mounts and resources; conditions and
// container statuses; managed fields): informers hold them all, so their
// size is most of discovery's memory. Scraped pods carry the scrape
// annotations and keep their labels; gen changes an annotation (and, for
// the others, a label).
func benchPod(i int, ip, port, path string, scraped bool, gen int) *corev1.Pod {
	name := fmt.Sprintf("app-%d-7c9d8f6b5-%05d", i%50, i)
	labels := map[string]string{"app.kubernetes.io/name": fmt.Sprintf("app-%d", i%50), "app.kubernetes.io/part-of": "shop",
		"pod-template-hash": "7c9d8f6b5", "team": fmt.Sprintf("team-%d", i%7), "tier": "backend", "version": "v1"}
	ann := map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-12-01T10:00:00Z", "bench/generation": strconv.Itoa(gen),
		"checksum/config": "4f1c2d9e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d"}
	if scraped {
		ann["prometheus.io/scrape"], ann["prometheus.io/port"], ann["prometheus.io/path"] = "true", port, path
	} else {
		labels["version"] = "v" + strconv.Itoa(gen%7)
	}
	ctr := func(n, img string, p int32) corev1.Container {
		env := make([]corev1.EnvVar, 0, 8)
		for k := range 8 {
			env = append(env, corev1.EnvVar{Name: fmt.Sprintf("SETTING_%d", k), Value: fmt.Sprintf("value-%d-for-%s", k, n)})
		}
		return corev1.Container{Name: n, Image: img, Env: env,
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: p, Protocol: corev1.ProtocolTCP}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(p)}}, PeriodSeconds: 10},
			VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/app"}, {Name: "data", MountPath: "/var/lib/app"},
				{Name: "kube-api-access-x7k2p", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
			ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePath: "/dev/termination-log"}
	}
	now := metav1.NewTime(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	status := func(n, img string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: n, Ready: true, Image: img, ImageID: img + "@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			ContainerID: "containerd://" + fmt.Sprintf("%064d", i), Started: new(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}
	}
	var conds []corev1.PodCondition
	for _, c := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled} {
		conds = append(conds, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	mf, _ := json.Marshal(map[string]any{"f:metadata": map[string]any{"f:labels": labels, "f:annotations": ann}, "f:spec": map[string]any{
		"f:containers": map[string]any{`k:{"name":"app"}`: map[string]any{".": map[string]any{}, "f:env": map[string]any{}, "f:image": map[string]any{}, "f:ports": map[string]any{}, "f:resources": map[string]any{}}}}})
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("ns-%d", i%20), Name: name, Labels: labels, Annotations: ann,
			GenerateName: fmt.Sprintf("app-%d-7c9d8f6b5-", i%50),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: fmt.Sprintf("app-%d-7c9d8f6b5", i%50),
				UID: "2f1e0d9c-8b7a-6f5e-4d3c-2b1a0f9e8d7c", Controller: new(true), BlockOwnerDeletion: new(true)}},
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", Time: &now, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: mf}},
				{Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", Time: &now, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: mf}, Subresource: "status"}}},
		Spec: corev1.PodSpec{NodeName: fmt.Sprintf("node-%d", i%40), ServiceAccountName: "default",
			Containers: []corev1.Container{ctr("app", "registry.example.com/shop/app:1.42.0", 8080), ctr("proxy", "registry.example.com/mesh/proxy:1.20.3", 15090)},
			Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"}}}},
				{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			Tolerations: []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, HostIP: "192.168.0.10", StartTime: &now,
			QOSClass: corev1.PodQOSBurstable, Conditions: conds,
			ContainerStatuses: []corev1.ContainerStatus{status("app", "registry.example.com/shop/app:1.42.0"), status("proxy", "registry.example.com/mesh/proxy:1.20.3")}},
	}
}
