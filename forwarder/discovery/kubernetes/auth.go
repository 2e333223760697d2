package kubernetes

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/common/config"
)

// serviceAccountDir is where the kubelet mounts a pod's ServiceAccount.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// inClusterEnv is where the in-cluster config comes from: the
// KUBERNETES_SERVICE_* variables and the ServiceAccount mount. The zero
// value is the real process environment.
type inClusterEnv struct {
	getenv func(string) string
	dir    string
}

func (e inClusterEnv) orDefault() inClusterEnv {
	if e.getenv == nil {
		e.getenv = os.Getenv
	}
	if e.dir == "" {
		e.dir = serviceAccountDir
	}
	return e
}

// userAgent is sent with every request, as client-go names its callers.
const userAgent = "promfwd/kubernetes-sd"

// newClient connects c's way: api_server with the HTTP client keys, a
// kubeconfig file, or the pod's ServiceAccount. The ServiceAccount token
// and the kubeconfig's token file are re-read as they change (the kubelet
// rotates the token). It returns the pod's own namespace when
// own_namespace asks for it.
func newClient(c *SDConfig) (*client, string, error) {
	var (
		base    string
		httpCfg config.HTTPClientConfig
		own     string
	)
	switch {
	case c.KubeConfig != "":
		k, err := loadKubeconfig(c.KubeConfig)
		if err != nil {
			return nil, "", err
		}
		base, httpCfg = k.server, k.http
	case c.APIServer.URL == nil:
		env := c.inCluster.orDefault()
		host, port := env.getenv("KUBERNETES_SERVICE_HOST"), env.getenv("KUBERNETES_SERVICE_PORT")
		if host == "" || port == "" {
			return nil, "", errors.New("kubernetes_sd: unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined (or set api_server or kubeconfig_file)")
		}
		base = "https://" + net.JoinHostPort(host, port)
		tokenFile := filepath.Join(env.dir, "token")
		if _, err := os.Stat(tokenFile); err != nil {
			return nil, "", fmt.Errorf("kubernetes_sd: in-cluster ServiceAccount token: %w", err)
		}
		httpCfg = config.DefaultHTTPClientConfig
		httpCfg.Authorization = &config.Authorization{Type: "Bearer", CredentialsFile: tokenFile}
		if ca := filepath.Join(env.dir, "ca.crt"); fileExists(ca) {
			httpCfg.TLSConfig.CAFile = ca
		}
		if c.NamespaceDiscovery.IncludeOwnNamespace {
			b, err := os.ReadFile(filepath.Join(env.dir, "namespace"))
			if err != nil {
				return nil, "", fmt.Errorf("kubernetes_sd: could not determine the pod's namespace: %w", err)
			}
			if len(b) == 0 {
				return nil, "", errors.New("kubernetes_sd: could not read own namespace name (empty file)")
			}
			own = string(b)
		}
	default:
		base, httpCfg = c.APIServer.String(), c.HTTPClientConfig
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes_sd: API server URL: %w", err)
	}
	hc, err := config.NewClientFromConfig(httpCfg, "kubernetes_sd", config.WithUserAgent(userAgent))
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes_sd: HTTP client: %w", err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &client{base: u, http: hc}, own, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// client lists and watches the API server.
type client struct {
	base *url.URL
	http *http.Client
}
