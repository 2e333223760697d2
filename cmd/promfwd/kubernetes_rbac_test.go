//go:build !nokubernetes

package main

import (
	"slices"
	"testing"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/forwarder/discovery/kubernetes"
)

// roleNeeds is what each kubernetes_sd_configs role lists and watches
// (Prometheus' discovery/kubernetes), as "apiGroup/resource".
var roleNeeds = map[kubernetes.Role][]string{
	kubernetes.RolePod:           {"/pods"},
	kubernetes.RoleService:       {"/services"},
	kubernetes.RoleNode:          {"/nodes"},
	kubernetes.RoleEndpoint:      {"/endpoints", "/services", "/pods"},
	kubernetes.RoleEndpointSlice: {"discovery.k8s.io/endpointslices", "/services", "/pods"},
}

// TestKubernetesRBAC: the StatefulSet runs as a ServiceAccount of the
// manifests, bound by a ClusterRoleBinding to a ClusterRole that grants
// only get, list and watch, only on pods, endpoints, services, nodes and
// endpointslices, and at least what the embedded config's discovery roles
// read.
func TestKubernetesRBAC(t *testing.T) {
	_, docs := loadManifests(t)
	sts := statefulSet(t, docs)
	sa := sts.Spec.Template.Spec.ServiceAccountName
	if _, ok := docs["ServiceAccount/"+sa]; sa == "" || !ok {
		t.Fatalf("serviceAccountName %q is not a ServiceAccount of the manifests", sa)
	}
	granted := map[string]bool{}
	bound := 0
	for _, b := range docs {
		if b.Kind != "ClusterRoleBinding" || !slices.ContainsFunc(b.Subjects, func(s struct {
			Kind      string `yaml:"kind"`
			Name      string `yaml:"name"`
			Namespace string `yaml:"namespace"`
		}) bool {
			return s.Kind == "ServiceAccount" && s.Name == sa && s.Namespace != ""
		}) {
			continue
		}
		role, ok := docs["ClusterRole/"+b.RoleRef.Name]
		if b.RoleRef.Kind != "ClusterRole" || !ok {
			t.Errorf("%s binds %s %s, not a ClusterRole of the manifests", b.Metadata.Name, b.RoleRef.Kind, b.RoleRef.Name)
			continue
		}
		bound++
		allowed := []string{"/pods", "/endpoints", "/services", "/nodes", "discovery.k8s.io/endpointslices"}
		for _, r := range role.Rules {
			for _, v := range r.Verbs {
				if v != "get" && v != "list" && v != "watch" {
					t.Errorf("ClusterRole %s grants %q: discovery only reads", role.Metadata.Name, v)
				}
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					if !slices.Contains(allowed, g+"/"+res) {
						t.Errorf("ClusterRole %s grants %s/%s, which discovery does not read", role.Metadata.Name, g, res)
					}
					if slices.Contains(r.Verbs, "list") && slices.Contains(r.Verbs, "watch") {
						granted[g+"/"+res] = true
					}
				}
			}
		}
	}
	if bound == 0 {
		t.Fatalf("no ClusterRoleBinding for ServiceAccount %s", sa)
	}
	t.Setenv("POD_ORDINAL", "0")
	t.Setenv("CLUSTER_NAME", "test")
	cm := docs["ConfigMap/promfwd-config"]
	cfg, err := config.Load("promfwd.yaml", []byte(cm.Data["promfwd.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cfg.Sources {
		for _, k := range s.KubernetesSDConfigs {
			for _, need := range roleNeeds[k.Role] {
				if !granted[need] {
					t.Errorf("source %s: role %s lists and watches %s, which the ClusterRole does not grant", s.Name, k.Role, need)
				}
			}
		}
	}
}
