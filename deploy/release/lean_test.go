package main

import (
	"debug/buildinfo"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// TestLeanBinaries: the .deb and the Docker plugin ship the binary built
// without Kubernetes discovery (~14 MiB less mapped into every process);
// the standalone binary and the image keep it. k8s.io/api (the typed API
// objects client-go's informers decode) marks it: Prometheus' discovery
// core links a small part of client-go in both.
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
		linked := slices.ContainsFunc(bi.Deps, func(m *debug.Module) bool { return m.Path == "k8s.io/api" })
		tags := ""
		for _, s := range bi.Settings {
			if s.Key == "-tags" {
				tags = s.Value
			}
		}
		if linked != c.kubernetes || strings.Contains(tags, "nokubernetes") == c.kubernetes {
			t.Errorf("%s: k8s.io/api linked %v, -tags %q; want Kubernetes discovery %v", c.path, linked, tags, c.kubernetes)
		}
	}
	needCommand(t, "dpkg-deb", "dpkg")
	files := tarFiles(t, strings.NewReader(cmd(t, "dpkg-deb", "--fsys-tarfile", a.deb)))
	if !sameFile(t, files["."+debBinary], a.lean) {
		t.Errorf("the .deb's %s is not the lean binary", debBinary)
	}
}
