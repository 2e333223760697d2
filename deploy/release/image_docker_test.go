package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// testTarget serves one gauge on 127.0.0.1.
func testTarget(t *testing.T, metric string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "# TYPE "+metric+" gauge\n"+metric+" 42\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// hasPoint reports whether the receiver got metric with value 42.
func hasPoint(hec *hectest.Server, metric string) bool {
	for _, p := range hec.Points() {
		if p.Name == metric && p.Value == 42 {
			return true
		}
	}
	return false
}

// TestImageRun loads the release's image tarball into the real daemon and
// runs it as Kubernetes would (read-only root, a data volume), on the
// host's network against a target and a HEC receiver on 127.0.0.1: the
// samples arrive, the process runs as the non-root user, and `docker stop`
// ends it with exit code 0.
func TestImageRun(t *testing.T) {
	needDocker(t)
	a := artifacts(t)
	tags, err := imageTags(testVersion)
	if err != nil {
		t.Fatal(err)
	}
	image := tags[0].String()
	t.Logf("docker load:\n%s", cmd(t, "docker", "load", "-i", a.image))
	t.Cleanup(func() { _, _ = tryCmd("docker", "rmi", image, tags[1].String()) })

	inspect := strings.TrimSpace(cmd(t, "docker", "image", "inspect", "-f",
		`{{.Config.User}} {{json .Config.Entrypoint}} {{index .Config.Labels "org.opencontainers.image.version"}} {{.Os}}/{{.Architecture}}`, image))
	t.Logf("docker image inspect: %s", inspect)
	if want := fmt.Sprintf(`%s ["/usr/local/bin/promfwd","run"] %s linux/%s`, imageUser, testVersion, builtArch()); inspect != want {
		t.Errorf("image: %q, want %q", inspect, want)
	}

	const metric = "promfwd_image_test_gauge"
	target := testTarget(t, metric)
	hec := hectest.New(t, hectest.Options{})
	cfgDir := t.TempDir()
	// The container's user is not root: the mounted config must be readable.
	if err := os.Chmod(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`data_dir: /var/lib/promfwd
shutdown_timeout: 5s
server: {listen: ""}
sources: [{name: target, url: %s/metrics, interval: 1s}]
sinks: [{name: hec, type: hec, url: %s, token_file: /etc/promfwd/hec_token, flush_interval: 200ms}]
`, target.URL, hec.URL())
	for n, body := range map[string]string{"promfwd.yaml": cfg, "hec_token": hec.Token()} {
		if err := os.WriteFile(filepath.Join(cfgDir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	name := fmt.Sprintf("promfwd-image-test-%d", os.Getpid())
	_, _ = tryCmd("docker", "rm", "-f", "-v", name)
	cmd(t, "docker", "run", "-d", "--name", name, "--network", "host", "--read-only",
		"-v", cfgDir+":/etc/promfwd:ro", "-e", "PROMFWD_CONFIG=/etc/promfwd/promfwd.yaml", image)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := tryCmd("docker", "logs", name)
			t.Logf("container logs:\n%s", out)
		}
		_, _ = tryCmd("docker", "rm", "-f", "-v", name)
	})
	waitUntil(t, "the target's samples at the receiver", func() bool { return hasPoint(hec, metric) },
		func() string { out, _ := tryCmd("docker", "logs", name); return "container logs:\n" + out })
	t.Logf("delivered: %d events from the container, %s=42 among them", len(hec.Events()), metric)

	user := strings.TrimSpace(cmd(t, "docker", "inspect", "-f", "{{.Config.User}}", name))
	pid := strings.TrimSpace(cmd(t, "docker", "inspect", "-f", "{{.State.Pid}}", name))
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var uid string
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "Uid:") {
			uid = strings.Fields(l)[1]
		}
	}
	t.Logf("docker inspect: User=%s; the process runs as uid %s", user, uid)
	if user != imageUser || uid != fmt.Sprint(imageUID) {
		t.Errorf("container user %q, process uid %s; want %s, %d", user, uid, imageUser, imageUID)
	}
	cmd(t, "docker", "stop", name)
	if code := strings.TrimSpace(cmd(t, "docker", "inspect", "-f", "{{.State.ExitCode}}", name)); code != "0" {
		t.Errorf("exit code after docker stop: %s, want 0", code)
	}
}
