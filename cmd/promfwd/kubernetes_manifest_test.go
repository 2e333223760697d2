//go:build !nokubernetes

package main

import (
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/promfwd/promfwd/forwarder"
	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/internal/kubetest"
	"github.com/promfwd/promfwd/sinks/hec"
)

// TestKubernetesManifests runs the StatefulSet example as far as a test
// can without a cluster: the manifests hold no Secret (re-applying them
// must not overwrite the user's), and the Secret they mount is created by
// a documented kubectl command with every key the config reads; the
// embedded config passes `promfwd check -offline` and config.Load for
// every pod ordinal, with shard.count = spec.replicas; every file it reads
// is a mounted key; and the replicas, discovering pods through a test
// Kubernetes API server in place of the in-cluster one, scrape every pod
// annotated prometheus.io/scrape=true, each with exactly one replica, at
// the annotated port and path, and no other pod.
func TestKubernetesManifests(t *testing.T) {
	text, docs := loadManifests(t)
	sts := statefulSet(t, docs)
	if _, ok := docs["Service/"+sts.Spec.ServiceName]; !ok {
		t.Errorf("serviceName %q has no Service", sts.Spec.ServiceName)
	}
	for k, d := range docs {
		if d.Kind == "Secret" {
			t.Errorf("%s in the manifests: kubectl apply would overwrite the Secret the user created", k)
		}
	}
	secrets := documentedSecrets(text)
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
	// Mounted files: mountPath/key for each ConfigMap or documented Secret.
	files := map[string]string{}
	for _, vm := range ctr.VolumeMounts {
		for _, v := range sts.Spec.Template.Spec.Volumes {
			if v.Name != vm.Name {
				continue
			}
			switch {
			case v.ConfigMap != nil:
				cm, ok := docs["ConfigMap/"+v.ConfigMap.Name]
				if !ok {
					t.Errorf("volume %s: ConfigMap %s is not in the manifests", v.Name, v.ConfigMap.Name)
				}
				for k, val := range cm.Data {
					files[path.Join(vm.MountPath, k)] = val
				}
			case v.Secret != nil:
				keys, ok := secrets[v.Secret.SecretName]
				if !ok {
					t.Errorf("volume %s: no `kubectl create secret generic %s --from-literal=...` in the file's instructions", v.Name, v.Secret.SecretName)
				}
				for _, k := range keys {
					files[path.Join(vm.MountPath, k)] = "test-token"
				}
			}
		}
	}
	i := slices.Index(ctr.Args, "-config")
	if i < 0 || i+1 >= len(ctr.Args) || slices.Contains(ctr.Args, "run") {
		t.Fatalf("args %v: want -config FILE (the entrypoint is promfwd run)", ctr.Args)
	}
	cfgPath := ctr.Args[i+1]
	cfgText, ok := files[cfgPath]
	if !ok {
		t.Fatalf("-config %s is not a mounted ConfigMap key (mounted: %v)", cfgPath, slices.Sorted(maps.Keys(files)))
	}
	root := t.TempDir()
	for p, content := range files {
		if err := os.MkdirAll(filepath.Join(root, path.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	api, fleet, want := kubeCluster(t)
	for ord := range sts.Spec.Replicas {
		for k, v := range env {
			t.Setenv(k, v)
		}
		t.Setenv(ordinalEnv, strconv.Itoa(ord))
		if code, _, errOut := runCLI("check", "-offline", "-config", filepath.Join(root, cfgPath)); code != 0 {
			t.Errorf("ordinal %d: promfwd check -offline: exit %d: %s", ord, code, errOut)
		}
		cfg, err := config.Load(cfgPath, []byte(cfgText))
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
		for _, cf := range cfg.CredentialFiles() {
			if _, mounted := files[cf.Path]; !mounted {
				t.Errorf("%s: %s is not a mounted key", cf.Field, cf.Path)
			}
		}
		discovering := 0
		for _, s := range cfg.Sources {
			for _, k := range s.KubernetesSDConfigs {
				// In-cluster (no api_server, no kubeconfig_file) in the
				// manifest; here the test API server stands in.
				if k.APIServer.URL != nil || k.KubeConfig != "" {
					t.Errorf("source %s: kubernetes_sd_configs should use the pod's ServiceAccount (in-cluster)", s.Name)
				}
				u, err := url.Parse(api.URL())
				if err != nil {
					t.Fatal(err)
				}
				k.APIServer = commoncfg.URL{URL: u}
				discovering++
			}
		}
		if discovering == 0 {
			t.Fatal("the config discovers nothing with kubernetes_sd_configs")
		}
		for _, sk := range cfg.Sinks {
			if h, ok := sk.Settings.(*hec.Config); ok && h.TokenFile != "" {
				h.TokenFile = filepath.Join(root, h.TokenFile)
			}
		}
		cfg.DataDir, cfg.Server.Listen = "", ""
		f, err := forwarder.New(cfg, forwarder.Options{})
		if err != nil {
			t.Fatalf("ordinal %d: New: %v", ord, err)
		}
		if err := f.Once(t.Context(), io.Discard, ""); err != nil { // discovers, scrapes, renders; no delivery
			t.Fatalf("ordinal %d: Once: %v", ord, err)
		}
		fleet.next(ord)
	}
	owners := fleet.owners()
	if got := slices.Sorted(maps.Keys(owners)); !slices.Equal(got, want) {
		t.Errorf("scraped paths %v, want the annotated running pods %v", got, want)
	}
	for p, by := range owners {
		if len(by) != 1 {
			t.Errorf("%s scraped by replicas %v, want exactly one", p, by)
		}
	}
}

// kubeCluster is a test API server with 12 pods annotated for scraping in
// two namespaces, and pods that must not be scraped (not annotated,
// finished). Every annotated pod's path is on one target server; want is
// the annotated running pods' paths, sorted.
func kubeCluster(t *testing.T) (*kubetest.Server, *pathFleet, []string) {
	t.Helper()
	fl := &pathFleet{hits: map[string][]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fl.hit(r.URL.Path)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE pod_up gauge\npod_up 1\n")
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	api := kubetest.NewServer(kubetest.Options{})
	t.Cleanup(api.Close)
	var want []string
	for i := range 16 {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: []string{"shop", "billing"}[i%2], Name: fmt.Sprintf("pod-%d", i),
				Labels:      map[string]string{"app": "shop"},
				Annotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": port, "prometheus.io/path": fmt.Sprintf("/pod/%d", i)}},
			Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1"},
		}
		switch {
		case i == 12:
			delete(p.Annotations, "prometheus.io/scrape")
		case i == 13:
			p.Annotations["prometheus.io/scrape"] = "false"
		case i == 14:
			p.Status.Phase = corev1.PodSucceeded
		case i == 15:
			p.Status.Phase, p.Status.PodIP = corev1.PodPending, ""
		default:
			want = append(want, fmt.Sprintf("/pod/%d", i))
		}
		if _, err := api.Apply(p); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(want)
	return api, fl, want
}

// pathFleet records which replica scraped each path: the replicas run one
// after the other, so the hits since the last next(replica) are its own.
type pathFleet struct {
	mu      sync.Mutex
	pending []string
	hits    map[string][]int
}

func (f *pathFleet) hit(p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, p)
}

func (f *pathFleet) next(replica int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range slices.Compact(slices.Sorted(slices.Values(f.pending))) {
		f.hits[p] = append(f.hits[p], replica)
	}
	f.pending = nil
}

func (f *pathFleet) owners() map[string][]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.hits)
}
