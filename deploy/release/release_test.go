package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestBinary: static, -trimpath, no cgo, version stamped.
func TestBinary(t *testing.T) {
	a := artifacts(t)
	f, err := elf.Open(a.binary)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %v segment: not static", p.Type)
		}
	}
	bi, err := buildinfo.ReadFile(a.binary)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, want := range map[string]string{"-trimpath": "true", "CGO_ENABLED": "0", "GOOS": "linux"} {
		if settings[k] != want {
			t.Errorf("build setting %s=%q, want %q", k, settings[k], want)
		}
	}
	// -trimpath keeps -ldflags out of the build info: the stamp shows in
	// what the binary prints.
	if got := strings.TrimSpace(cmd(t, a.binary, "version")); got != "promfwd "+testVersion {
		t.Errorf("version: %q", got)
	}
}

// TestSums: SHA256SUMS names every artifact with its digest.
func TestSums(t *testing.T) {
	a := artifacts(t)
	data, err := os.ReadFile(a.sums)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		sum, name, ok := strings.Cut(l, "  ")
		if !ok {
			t.Fatalf("bad line %q", l)
		}
		got, err := fileSHA256(filepath.Join(filepath.Dir(a.sums), name))
		if err != nil || got != sum {
			t.Errorf("%s: sha256 %s (%v), SHA256SUMS says %s", name, got, err, sum)
		}
		names = append(names, name)
	}
	for _, p := range []string{a.binary, a.lean, a.deb, a.plugin, a.image} {
		if !slices.Contains(names, filepath.Base(p)) {
			t.Errorf("SHA256SUMS lacks %s (has %v)", filepath.Base(p), names)
		}
	}
}

// tarFiles reads a tar stream into name -> header, with the content's
// sha256 (and, for small files, the content) in PAXRecords.
func tarFiles(t *testing.T, r io.Reader) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.New()
		var small bytes.Buffer
		if _, err := io.Copy(io.MultiWriter(sum, &limitedBuffer{&small, 64 << 10}), tr); err != nil {
			t.Fatal(err)
		}
		h.PAXRecords = map[string]string{"sha256": hex.EncodeToString(sum.Sum(nil)), "content": small.String()}
		out[h.Name] = h
	}
}

// limitedBuffer keeps the first n bytes written to it.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func sameFile(t *testing.T, h *tar.Header, p string) bool {
	t.Helper()
	want, err := fileSHA256(p)
	if err != nil {
		t.Fatal(err)
	}
	return h != nil && h.PAXRecords["sha256"] == want
}

// TestPluginTarball: config.json from deploy/docker-plugin beside a rootfs
// holding the binary at the manifest's entrypoint, the CA bundle and the
// mount points.
func TestPluginTarball(t *testing.T) {
	a := artifacts(t)
	f, err := os.Open(a.plugin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	files := tarFiles(t, zr)
	if !sameFile(t, files["config.json"], filepath.Join(repoRoot, "deploy", "docker-plugin", "config.json")) {
		t.Error("config.json differs from deploy/docker-plugin/config.json")
	}
	bin := files["rootfs/usr/local/bin/promfwd"]
	if !sameFile(t, bin, a.lean) || bin.Mode != 0o755 {
		t.Errorf("rootfs/usr/local/bin/promfwd: not the lean release binary with mode 0755")
	}
	if !sameFile(t, files["rootfs/etc/ssl/certs/ca-certificates.crt"], defaultCAFile) {
		t.Error("CA bundle missing or not the build machine's")
	}
	for _, d := range []string{"rootfs/etc/promfwd/", "rootfs/var/lib/promfwd/", "rootfs/run/docker/plugins/"} {
		if h := files[d]; h == nil || h.Typeflag != tar.TypeDir {
			t.Errorf("mount point %s missing", d)
		}
	}
}

// TestImageTarball: the image's config (non-root user, entrypoint, OCI
// labels, platform) and its one layer.
func TestImageTarball(t *testing.T) {
	a := artifacts(t)
	tags, err := imageTags(testVersion)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(a.image, &tags[0])
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != imageUser || strings.HasPrefix(cf.Config.User, "0") {
		t.Errorf("User %q, want non-root %s", cf.Config.User, imageUser)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/usr/local/bin/promfwd", "run"}) {
		t.Errorf("Entrypoint %v", cf.Config.Entrypoint)
	}
	if cf.OS != "linux" || cf.Architecture != builtArch() {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	for _, k := range []string{"title", "description", "version", "created", "source", "licenses"} {
		if cf.Config.Labels["org.opencontainers.image."+k] == "" {
			t.Errorf("label org.opencontainers.image.%s missing", k)
		}
	}
	if v := cf.Config.Labels["org.opencontainers.image.version"]; v != testVersion {
		t.Errorf("version label %q", v)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := tarFiles(t, rc)
	if !sameFile(t, files["usr/local/bin/promfwd"], a.binary) {
		t.Error("usr/local/bin/promfwd is not the release binary")
	}
	if !sameFile(t, files["etc/ssl/certs/ca-certificates.crt"], defaultCAFile) {
		t.Error("CA bundle missing")
	}
	if p := files["etc/passwd"]; p == nil || !strings.Contains(p.PAXRecords["content"], "nonroot:x:65532:65532:") {
		t.Error("etc/passwd does not name the non-root user")
	}
	if d := files["var/lib/promfwd/"]; d == nil || d.Uid != imageUID {
		t.Error("var/lib/promfwd not owned by the non-root user (data_dir)")
	}
}

// TestKubernetesUsesImage: the StatefulSet runs the image this tool
// builds, as its user, with args that follow the entrypoint `promfwd run`.
func TestKubernetesUsesImage(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "kubernetes", "promfwd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("image: "+imageRepo+":")) {
		t.Errorf("deploy/kubernetes does not use image %s", imageRepo)
	}
	for _, want := range []string{"runAsUser: 65532", "runAsGroup: 65532"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("deploy/kubernetes lacks %q (the image's user)", want)
		}
	}
}

// TestDebContents lists the .deb with dpkg-deb.
func TestDebContents(t *testing.T) {
	needCommand(t, "dpkg-deb", "dpkg")
	a := artifacts(t)
	list := cmd(t, "dpkg-deb", "--contents", a.deb)
	for _, p := range []string{"." + debBinary, "." + debUnit, "." + debConfig, "." + debDocDir + "/README.md", "." + debDocDir + "/LICENSE", "." + debDocDir + "/copyright"} {
		if !strings.Contains(list, " "+p+"\n") {
			t.Errorf("%s not in the package:\n%s", p, list)
		}
	}
	ctrl := t.TempDir()
	cmd(t, "dpkg-deb", "--control", a.deb, ctrl)
	conf, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	if err != nil || strings.TrimSpace(string(conf)) != debConfig {
		t.Errorf("conffiles %q (%v), want %s", conf, err, debConfig)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		b, err := os.ReadFile(filepath.Join(ctrl, s))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		// Policy: the package never starts the service on install.
		if strings.Contains(string(b), "start") || strings.Contains(string(b), "enable --now") {
			t.Errorf("%s starts the service:\n%s", s, b)
		}
	}
	unit := cmd(t, "dpkg-deb", "--fsys-tarfile", a.deb)
	if !strings.Contains(unit, "ExecStart="+debBinary+" run -config "+debConfig) {
		t.Error("packaged unit does not run " + debBinary)
	}
}
