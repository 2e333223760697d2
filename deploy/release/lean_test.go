package main

import (
	"bytes"
	"debug/buildinfo"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// TestLeanBinaries: the .deb and the Docker plugin ship the binary built
// without Kubernetes discovery; the standalone binary and the image keep
// it. Kubernetes discovery is promfwd's own client
// (forwarder/discovery/kubernetes, marked by its User-Agent string), not
// client-go's clientset: k8s.io/api (the typed API objects) is linked in
// neither. Prometheus' discovery core links a small part of client-go
// (tools/metrics, util/workqueue) in both.
func TestLeanBinaries(t *testing.T) {
	a := artifacts(t)
	for _, c := range []struct {
		path       string
		kubernetes bool
	}{{a.binary, true}, {a.lean, false}} {
		bi, err := buildinfo.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(bi.Deps, func(m *debug.Module) bool { return m.Path == "k8s.io/api" }) {
			t.Errorf("%s: k8s.io/api is linked", c.path)
		}
		data, err := os.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		linked := bytes.Contains(data, []byte(kubernetesUserAgent))
		tags := ""
		for _, s := range bi.Settings {
			if s.Key == "-tags" {
				tags = s.Value
			}
		}
		if linked != c.kubernetes || strings.Contains(tags, "nokubernetes") == c.kubernetes {
			t.Errorf("%s: Kubernetes discovery linked %v, -tags %q; want %v", c.path, linked, tags, c.kubernetes)
		}
	}
	needCommand(t, "dpkg-deb", "dpkg")
	files := tarFiles(t, strings.NewReader(cmd(t, "dpkg-deb", "--fsys-tarfile", a.deb)))
	if !sameFile(t, files["."+debBinary], a.lean) {
		t.Errorf("the .deb's %s is not the lean binary", debBinary)
	}
}

// kubernetesUserAgent is the User-Agent of forwarder/discovery/kubernetes.
const kubernetesUserAgent = "promfwd/kubernetes-sd"
