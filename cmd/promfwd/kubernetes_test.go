package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/promfwd/promfwd/forwarder"
	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/sinks/hec"
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
				TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
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
}

// TestKubernetesManifests loads the StatefulSet example: the embedded
// promfwd config passes config.Load for every pod ordinal, shard.count
// equals spec.replicas, every file the config reads is a mounted ConfigMap
// or Secret key, and the replicas together own every file_sd target
// exactly once.
func TestKubernetesManifests(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(deployDir, "kubernetes", "promfwd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]k8sDoc{} // kind/name
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
	var sts k8sDoc
	for k, d := range docs {
		if d.Kind == "StatefulSet" {
			sts = d
			t.Logf("statefulset %s", k)
		}
	}
	if sts.Kind == "" || len(sts.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("no StatefulSet with one container in the manifests: %v", slices.Sorted(maps.Keys(docs)))
	}
	if _, ok := docs["Service/"+sts.Spec.ServiceName]; !ok {
		t.Errorf("serviceName %q has no Service", sts.Spec.ServiceName)
	}
	ctr := sts.Spec.Template.Spec.Containers[0]
	ordinalEnv := ""
	env := map[string]string{}
	for _, e := range ctr.Env {
		if e.ValueFrom.FieldRef.FieldPath == "metadata.labels['apps.kubernetes.io/pod-index']" {
			ordinalEnv = e.Name
		} else {
			env[e.Name] = e.Value
		}
	}
	if ordinalEnv == "" {
		t.Fatal("no env var from the pod-index label")
	}
	// Mounted files: mountPath/key for each ConfigMap or Secret volume.
	files := map[string]string{}
	for _, vm := range ctr.VolumeMounts {
		for _, v := range sts.Spec.Template.Spec.Volumes {
			if v.Name != vm.Name {
				continue
			}
			var src k8sDoc
			var ok bool
			switch {
			case v.ConfigMap != nil:
				src, ok = docs["ConfigMap/"+v.ConfigMap.Name]
			case v.Secret != nil:
				src, ok = docs["Secret/"+v.Secret.SecretName]
			}
			if !ok {
				t.Errorf("volume %s refers to an object not in the manifests", v.Name)
			}
			for k, val := range src.Data {
				files[path.Join(vm.MountPath, k)] = val
			}
			for k, val := range src.StringData {
				files[path.Join(vm.MountPath, k)] = val
			}
		}
	}
	// The image's entrypoint is `promfwd run` (deploy/release): args
	// are run's flags.
	i := slices.Index(ctr.Args, "-config")
	if i < 0 || i+1 >= len(ctr.Args) || slices.Contains(ctr.Args, "run") {
		t.Fatalf("args %v: want -config FILE (the entrypoint is promfwd run)", ctr.Args)
	}
	cfgText, ok := files[ctr.Args[i+1]]
	if !ok {
		t.Fatalf("-config %s is not a mounted ConfigMap key (mounted: %v)", ctr.Args[i+1], files)
	}
	// Put the mounted files into a temp root, so file_sd reads them.
	root := t.TempDir()
	for p, content := range files {
		if err := os.MkdirAll(filepath.Join(root, path.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	owners := map[string]int{}
	for ord := range sts.Spec.Replicas {
		for k, v := range env {
			t.Setenv(k, v)
		}
		t.Setenv(ordinalEnv, strconv.Itoa(ord))
		cfg, err := config.Load(ctr.Args[i+1], []byte(cfgText))
		if err != nil {
			t.Fatalf("ordinal %d: %v", ord, err)
		}
		if cfg.Shard.Count != sts.Spec.Replicas || cfg.Shard.Ordinal() != ord {
			t.Fatalf("shard %+v (ordinal %d) for pod %d of %d replicas", cfg.Shard, cfg.Shard.Ordinal(), ord, sts.Spec.Replicas)
		}
		if grace := time.Duration(sts.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second; grace <= cfg.ShutdownTimeout {
			t.Errorf("terminationGracePeriodSeconds %v must exceed shutdown_timeout %v", grace, cfg.ShutdownTimeout)
		}
		if cfg.DataDir != "" && !slices.ContainsFunc(ctr.VolumeMounts, func(vm volumeMount) bool {
			return vm.MountPath == cfg.DataDir && slices.ContainsFunc(sts.Spec.VolumeClaimTemplates, func(c claimTemplate) bool { return c.Metadata.Name == vm.Name })
		}) {
			t.Errorf("data_dir %s is not a volumeClaimTemplate mount", cfg.DataDir)
		}
		for j, s := range cfg.Sources {
			for i, c := range s.FileSDConfigs {
				for k, p := range c.Files {
					if m, _ := filepath.Glob(filepath.Join(root, p)); len(m) == 0 {
						t.Errorf("file_sd %s matches no mounted file", p)
					}
					cfg.Sources[j].FileSDConfigs[i].Files[k] = filepath.Join(root, p)
				}
			}
		}
		for _, sk := range cfg.Sinks {
			if h, ok := sk.Settings.(*hec.Config); ok && h.TokenFile != "" {
				if _, mounted := files[h.TokenFile]; !mounted {
					t.Errorf("sink %s: token_file %s is not a mounted Secret key", sk.Name, h.TokenFile)
				}
				h.TokenFile = filepath.Join(root, h.TokenFile)
			}
		}
		cfg.DataDir = ""
		cfg.Server.Listen = ""
		f, err := forwarder.New(cfg, forwarder.Options{})
		if err != nil {
			t.Fatalf("ordinal %d: New: %v", ord, err)
		}
		for _, n := range f.Targets() {
			owners[n]++
		}
		redacted, err := cfg.Redacted()
		if err != nil {
			t.Fatal(err)
		}
		for p := range files {
			if strings.Contains(p, "credentials") && !bytes.Contains(redacted, []byte(p)) {
				t.Errorf("credential %s is mounted but the config does not read it", p)
			}
		}
		if err := f.Once(t.Context(), io.Discard, "no-such-sink"); err == nil {
			t.Error("Once with an unknown sink did not fail") // also closes f's sinks and targets
		}
	}
	targets := 0
	var groups []struct {
		Targets []string `json:"targets"`
	}
	if err := json.Unmarshal([]byte(files["/etc/promfwd/targets/nodes.json"]), &groups); err != nil {
		t.Fatalf("nodes.json: %v", err)
	}
	for _, g := range groups {
		targets += len(g.Targets)
	}
	if len(owners) != targets || targets == 0 {
		t.Errorf("replicas own %d distinct targets, file_sd lists %d", len(owners), targets)
	}
	for n, c := range owners {
		if c != 1 {
			t.Errorf("%s owned by %d replicas", n, c)
		}
	}
}
