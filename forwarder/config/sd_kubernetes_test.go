//go:build !nokubernetes

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promfwd/promfwd/forwarder/discovery/kubernetes"
)

// TestKubernetesSDConfig: kubernetes_sd_configs decodes into Prometheus'
// own config with its defaults, a relative kubeconfig_file is taken
// relative to the config file, check prints the token of an api_server
// config as a placeholder, and a kubeconfig_file that cannot be read is a
// credential-file error at its key.
func TestKubernetesSDConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "promfwd.yaml")
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := load(file, []byte(`
sources:
  - name: pods
    kubernetes_sd_configs:
      - role: pod
        kubeconfig_file: kubeconfig
        namespaces: {names: [default, apps]}
        selectors: [{role: pod, label: "app=x", field: "spec.nodeName=n1"}]
        attach_metadata: {node: true}
      - role: endpointslice
        api_server: https://10.0.0.1:6443
        bearer_token: ${TOK}
        tls_config: {insecure_skip_verify: true}
      - role: node
  - name: missing
    kubernetes_sd_configs: [{role: service, kubeconfig_file: /nonexistent/kubeconfig}]
sinks:
  - {name: out, type: stdout}
`), secretEnv())
	if err != nil {
		t.Fatal(err)
	}
	ks := cfg.Sources[0].KubernetesSDConfigs
	if len(ks) != 3 || len(cfg.Sources[0].Discoverers()) != 3 {
		t.Fatalf("got %d kubernetes configs, %d discoverers", len(ks), len(cfg.Sources[0].Discoverers()))
	}
	if ks[0].Role != kubernetes.RolePod || ks[0].KubeConfig != filepath.Join(dir, "kubeconfig") ||
		strings.Join(ks[0].NamespaceDiscovery.Names, ",") != "default,apps" ||
		ks[0].Selectors[0].Field != "spec.nodeName=n1" || !ks[0].AttachMetadata.Node {
		t.Errorf("pod config decoded as %+v", ks[0])
	}
	if ks[1].APIServer.String() != "https://10.0.0.1:6443" || ks[1].HTTPClientConfig.Authorization == nil || string(ks[1].HTTPClientConfig.Authorization.Credentials) != envToken ||
		!ks[1].HTTPClientConfig.TLSConfig.InsecureSkipVerify || !ks[1].HTTPClientConfig.FollowRedirects {
		t.Errorf("endpointslice config decoded as %+v (want Prometheus' defaults kept: follow_redirects)", ks[1])
	}
	if got := cfg.Sources[0].Mechanisms(); strings.Join(got, ",") != "kubernetes_sd" {
		t.Errorf("mechanisms %v", got)
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "Redacted()", string(out))
	if !strings.Contains(string(out), "kubernetes_sd_configs") || !strings.Contains(string(out), secretPlaceholder) {
		t.Errorf("Redacted() lacks the kubernetes configs or the token placeholder:\n%s", out)
	}
	errs := cfg.CredentialFileErrors()
	if errs == nil || !strings.Contains(errs.Error(), "sources[1].kubernetes_sd_configs[0].kubeconfig_file: cannot read the file") ||
		strings.Contains(errs.Error(), "sources[0]") {
		t.Errorf("credential file errors: %v", errs)
	}
	// What check prints loads back to the same configs.
	again, err := load(file, out, secretEnv())
	if err != nil {
		t.Fatalf("the printed config does not load: %v\n%s", err, out)
	}
	if k := again.Sources[0].KubernetesSDConfigs; len(k) != 3 || k[0].KubeConfig != ks[0].KubeConfig || k[2].Role != kubernetes.RoleNode {
		t.Errorf("printed config loads back as %+v", k)
	}
}
