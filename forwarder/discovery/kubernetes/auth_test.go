package kubernetes

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	promdisc "github.com/prometheus/prometheus/discovery"
	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/promfwd/promfwd/forwarder/discovery/sdtest"
	"github.com/promfwd/promfwd/internal/kubetest"
)

// startOurs runs our discoverer of c until the test ends.
func startOurs(t *testing.T, c *SDConfig) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return runDiscoverer(ctx, &wg, newOurs(t, c))
}

func decodeConfig(t *testing.T, src string) *SDConfig {
	t.Helper()
	var c SDConfig
	if err := yaml.Unmarshal([]byte(src), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func (c *collector) has(source string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[source]
	return ok && len(g.Targets) > 0
}

func apiWithPods(t *testing.T, opts kubetest.Options) *kubetest.Server {
	t.Helper()
	api := kubetest.NewServer(opts)
	t.Cleanup(api.Close)
	for _, p := range []*corev1.Pod{
		testPod("default", "a", "n1", "10.0.0.1", corev1.PodRunning, corev1.ConditionTrue, nil),
		testPod("apps", "b", "n1", "10.0.0.2", corev1.PodRunning, corev1.ConditionTrue, nil),
	} {
		if _, err := api.Apply(p); err != nil {
			t.Fatal(err)
		}
	}
	return api
}

// TestInCluster: without api_server or kubeconfig_file the pod's
// ServiceAccount is used (KUBERNETES_SERVICE_HOST/PORT, its CA, its
// token), own_namespace reads the namespace file, and a token the kubelet
// rotates is read again: requests failing with the old one succeed once
// the file holds the new one.
func TestInCluster(t *testing.T) {
	api := apiWithPods(t, kubetest.Options{TLS: true, Token: "fresh-token"})
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.crt", string(api.CAPEM()))
	write("namespace", "apps")
	write("token", "expired-token")
	host, port, _ := net.SplitHostPort(api.Addr())
	env := map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}

	c := decodeConfig(t, `{role: pod, namespaces: {own_namespace: true}}`)
	c.inCluster = inClusterEnv{getenv: func(k string) string { return env[k] }, dir: dir}
	opts := discovererOptions(c)
	d, err := c.NewDiscoverer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	col := runDiscoverer(ctx, &wg, d)
	sdtest.WaitFor(t, "requests refused with the expired token", func() bool {
		var m dto.Metric
		return opts.Metrics.(*metrics).failures.Write(&m) == nil && m.GetCounter().GetValue() >= 1
	})
	if col.state() != "" || api.Stats().Lists != 0 {
		t.Fatalf("listed with the expired token: %s", col.state())
	}
	write("token", "fresh-token")
	sdtest.WaitFor(t, "the own namespace's pod with the rotated token", func() bool { return col.has("pod/apps/b") })
	if col.has("pod/default/a") {
		t.Error("own_namespace watched another namespace")
	}

	delete(env, "KUBERNETES_SERVICE_PORT")
	if _, err := c.NewDiscoverer(discovererOptions(c)); err == nil || !strings.Contains(err.Error(), "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT") {
		t.Errorf("outside a cluster: %v", err)
	}
}

// TestKubeconfig: the current context's cluster and user are used
// (server, CA data, token, tokenFile relative to the file); credential
// plugins and broken files are errors that name the field and never
// carry a credential.
func TestKubeconfig(t *testing.T) {
	api := apiWithPods(t, kubetest.Options{TLS: true, Token: "kube-secret-token"})
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	if err := api.WriteKubeconfig(good); err != nil {
		t.Fatal(err)
	}
	col := startOurs(t, decodeConfig(t, `{role: pod, kubeconfig_file: `+good+`}`))
	sdtest.WaitFor(t, "pods through the kubeconfig", func() bool { return col.has("pod/default/a") && col.has("pod/apps/b") })

	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tok"), []byte("kube-secret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	viaFile := filepath.Join(dir, "viafile")
	if err := os.WriteFile(viaFile, []byte(strings.Replace(string(data), `token: "kube-secret-token"`, "tokenFile: tok", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	col2 := startOurs(t, decodeConfig(t, `{role: pod, kubeconfig_file: `+viaFile+`}`))
	sdtest.WaitFor(t, "pods with a tokenFile relative to the kubeconfig", func() bool { return col2.has("pod/default/a") })

	for name, tc := range map[string]struct{ file, want string }{
		"exec": {strings.Replace(string(data), `user: {token: "kube-secret-token"}`,
			"user: {exec: {command: aws, args: [eks, get-token]}}", 1), `user "kubetest": exec credential plugins are not supported`},
		"auth-provider": {strings.Replace(string(data), `user: {token: "kube-secret-token"}`,
			"user: {auth-provider: {name: gcp}}", 1), `user "kubetest": auth-provider is not supported`},
		"no context":  {strings.Replace(string(data), "current-context: kubetest", "current-context: other", 1), `context "other" not found`},
		"broken yaml": {string(data) + "\n  - : [token: kube-secret-token", "not a valid kubeconfig"},
		"bad ca data": {strings.Replace(string(data), "certificate-authority-data: ", "certificate-authority-data: x!", 1), "certificate-authority-data is not base64"},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "kubeconfig")
			if err := os.WriteFile(p, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			c := decodeConfig(t, `{role: pod, kubeconfig_file: `+p+`}`)
			_, err := c.NewDiscoverer(discovererOptions(c))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("error %v, want one naming %s and %q", err, p, tc.want)
			}
			if strings.Contains(err.Error(), "kube-secret-token") {
				t.Errorf("the error carries the token: %v", err)
			}
		})
	}
}

// TestSecretsNotLogged: failing requests with a bearer token and basic
// auth are logged (resource, namespace, status) without the credentials.
func TestSecretsNotLogged(t *testing.T) {
	api := apiWithPods(t, kubetest.Options{Token: "the-right-token"})
	var buf lockedBuffer
	for _, auth := range []string{`bearer_token: wrong-secret-token`, `basic_auth: {username: u, password: wrong-secret-pass}`} {
		c := decodeConfig(t, `{role: pod, api_server: "`+strings.Replace(api.URL(), "http://", "http://user:url-secret@", 1)+`", `+auth+`}`)
		m := c.NewDiscovererMetrics(prometheus.NewRegistry(), nil)
		d, err := c.NewDiscoverer(promdisc.DiscovererOptions{Logger: slog.New(slog.NewTextHandler(&buf, nil)), Metrics: m})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		runDiscoverer(ctx, &wg, d)
		sdtest.WaitFor(t, "a logged failure", func() bool { return strings.Contains(buf.String(), "401") })
		cancel()
		wg.Wait()
	}
	for _, secret := range []string{"wrong-secret-token", "wrong-secret-pass", "url-secret"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the log carries %q:\n%s", secret, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "resource=pods") {
		t.Errorf("the log does not name the resource:\n%s", buf.String())
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
