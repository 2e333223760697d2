package main

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
}

type claimTemplate struct {
	Metadata struct{ Name string }
}

// k8sDoc is the part of a manifest the checks read.
type k8sDoc struct {
	Kind     string `yaml:"kind"`
	Metadata struct{ Name string }
	Data     map[string]string `yaml:"data"`
	Spec     struct {
		Replicas    int    `yaml:"replicas"`
		ServiceName string `yaml:"serviceName"`
		Template    struct {
			Spec struct {
				ServiceAccountName            string `yaml:"serviceAccountName"`
				TerminationGracePeriodSeconds int    `yaml:"terminationGracePeriodSeconds"`
				Containers                    []struct {
					Args []string `yaml:"args"`
					Env  []struct {
						Name      string `yaml:"name"`
						Value     string `yaml:"value"`
						ValueFrom struct {
							FieldRef struct {
								FieldPath string `yaml:"fieldPath"`
							} `yaml:"fieldRef"`
						} `yaml:"valueFrom"`
					} `yaml:"env"`
					VolumeMounts []volumeMount `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
					Secret *struct {
						SecretName string `yaml:"secretName"`
					} `yaml:"secret"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []claimTemplate `yaml:"volumeClaimTemplates"`
	} `yaml:"spec"`
	StringData map[string]string `yaml:"stringData"`
	// RBAC objects.
	Rules []struct {
		APIGroups []string `yaml:"apiGroups"`
		Resources []string `yaml:"resources"`
		Verbs     []string `yaml:"verbs"`
	} `yaml:"rules"`
	RoleRef struct {
		Kind string `yaml:"kind"`
		Name string `yaml:"name"`
	} `yaml:"roleRef"`
	Subjects []struct {
		Kind      string `yaml:"kind"`
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"subjects"`
}

// loadManifests reads deploy/kubernetes/promfwd.yaml: its text and its
// objects by kind/name.
func loadManifests(t *testing.T) (string, map[string]k8sDoc) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(deployDir, "kubernetes", "promfwd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]k8sDoc{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var d k8sDoc
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		docs[d.Kind+"/"+d.Metadata.Name] = d
	}
	return string(data), docs
}

func statefulSet(t *testing.T, docs map[string]k8sDoc) k8sDoc {
	t.Helper()
	for _, d := range docs {
		if d.Kind == "StatefulSet" && len(d.Spec.Template.Spec.Containers) == 1 {
			return d
		}
	}
	t.Fatalf("no StatefulSet with one container in the manifests: %v", slices.Sorted(maps.Keys(docs)))
	return k8sDoc{}
}

// documentedSecrets parses the `kubectl create secret generic NAME
// --from-literal=KEY=...` commands in the file's comments: the Secrets a
// user creates, by name, with their keys.
func documentedSecrets(text string) map[string][]string {
	out := map[string][]string{}
	cmd := regexp.MustCompile(`(?m)^#.*kubectl .*create secret generic ([a-z0-9.-]+)((?: +--from-literal=[A-Za-z0-9_.-]+=\S+)+)`)
	lit := regexp.MustCompile(`--from-literal=([A-Za-z0-9_.-]+)=`)
	for _, m := range cmd.FindAllStringSubmatch(text, -1) {
		for _, k := range lit.FindAllStringSubmatch(m[2], -1) {
			out[m[1]] = append(out[m[1]], k[1])
		}
	}
	return out
}
