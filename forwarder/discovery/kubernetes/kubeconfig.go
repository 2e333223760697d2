package kubernetes

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"
)

// kubeconfigFile is the part of a kubeconfig file promfwd reads: the
// current context's cluster and user. Credential plugins (exec,
// auth-provider) are not run: they need cloud SDKs client-go links.
type kubeconfigFile struct {
	CurrentContext string `yaml:"current-context"`
	Clusters       []struct {
		Name    string `yaml:"name"`
		Cluster struct {
			Server                   string `yaml:"server"`
			CertificateAuthority     string `yaml:"certificate-authority"`
			CertificateAuthorityData string `yaml:"certificate-authority-data"`
			InsecureSkipTLSVerify    bool   `yaml:"insecure-skip-tls-verify"`
			TLSServerName            string `yaml:"tls-server-name"`
			ProxyURL                 string `yaml:"proxy-url"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
	Users []struct {
		Name string `yaml:"name"`
		User struct {
			Token                 string    `yaml:"token"`
			TokenFile             string    `yaml:"tokenFile"`
			ClientCertificate     string    `yaml:"client-certificate"`
			ClientCertificateData string    `yaml:"client-certificate-data"`
			ClientKey             string    `yaml:"client-key"`
			ClientKeyData         string    `yaml:"client-key-data"`
			Username              string    `yaml:"username"`
			Password              string    `yaml:"password"`
			Exec                  yaml.Node `yaml:"exec"`
			AuthProvider          yaml.Node `yaml:"auth-provider"`
		} `yaml:"user"`
	} `yaml:"users"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster string `yaml:"cluster"`
			User    string `yaml:"user"`
		} `yaml:"context"`
	} `yaml:"contexts"`
}

// kubeconfig is what a kubeconfig file resolves to.
type kubeconfig struct {
	server string
	http   config.HTTPClientConfig
}

// loadKubeconfig reads path's current context. Errors name the file and
// the field, never a credential.
func loadKubeconfig(path string) (*kubeconfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kubernetes_sd: kubeconfig_file: %w", err)
	}
	var f kubeconfigFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		// yaml's messages quote lines of the file, which may hold a token.
		return nil, fmt.Errorf("kubernetes_sd: kubeconfig_file %s: not a valid kubeconfig (YAML)", path)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("kubernetes_sd: kubeconfig_file %s: "+format, append([]any{path}, args...)...)
	}
	if f.CurrentContext == "" {
		return nil, fail("no current-context")
	}
	ctxIdx := -1
	for i := range f.Contexts {
		if f.Contexts[i].Name == f.CurrentContext {
			ctxIdx = i
		}
	}
	if ctxIdx < 0 {
		return nil, fail("context %q not found", f.CurrentContext)
	}
	kctx := f.Contexts[ctxIdx].Context
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	out := &kubeconfig{http: config.DefaultHTTPClientConfig}
	found := false
	for _, cl := range f.Clusters {
		if cl.Name != kctx.Cluster {
			continue
		}
		found = true
		c := cl.Cluster
		if c.Server == "" {
			return nil, fail("cluster %q has no server", cl.Name)
		}
		out.server = c.Server
		tls := &out.http.TLSConfig
		tls.CAFile = rel(c.CertificateAuthority)
		if c.CertificateAuthorityData != "" {
			ca, err := base64.StdEncoding.DecodeString(c.CertificateAuthorityData)
			if err != nil {
				return nil, fail("cluster %q: certificate-authority-data is not base64", cl.Name)
			}
			tls.CA, tls.CAFile = string(ca), ""
		}
		tls.InsecureSkipVerify = c.InsecureSkipTLSVerify
		tls.ServerName = c.TLSServerName
		if c.ProxyURL != "" {
			pu, err := url.Parse(c.ProxyURL)
			if err != nil {
				return nil, fail("cluster %q: proxy-url: %w", cl.Name, err)
			}
			out.http.ProxyURL = config.URL{URL: pu}
		}
	}
	if !found {
		return nil, fail("cluster %q of context %q not found", kctx.Cluster, f.CurrentContext)
	}
	for _, us := range f.Users {
		if us.Name != kctx.User || kctx.User == "" {
			continue
		}
		u := us.User
		switch {
		case !u.Exec.IsZero():
			return nil, fail("user %q: exec credential plugins are not supported; use a token, tokenFile or client certificate", us.Name)
		case !u.AuthProvider.IsZero():
			return nil, fail("user %q: auth-provider is not supported; use a token, tokenFile or client certificate", us.Name)
		}
		if err := userAuth(&out.http, u.Token, rel(u.TokenFile), u.Username, u.Password); err != nil {
			return nil, fail("user %q: %w", us.Name, err)
		}
		tls := &out.http.TLSConfig
		tls.CertFile, tls.KeyFile = rel(u.ClientCertificate), rel(u.ClientKey)
		if u.ClientCertificateData != "" {
			b, err := base64.StdEncoding.DecodeString(u.ClientCertificateData)
			if err != nil {
				return nil, fail("user %q: client-certificate-data is not base64", us.Name)
			}
			tls.Cert, tls.CertFile = string(b), ""
		}
		if u.ClientKeyData != "" {
			b, err := base64.StdEncoding.DecodeString(u.ClientKeyData)
			if err != nil {
				return nil, fail("user %q: client-key-data is not base64", us.Name)
			}
			tls.Key, tls.KeyFile = config.Secret(b), ""
		}
	}
	if err := out.http.Validate(); err != nil {
		return nil, fail("%w", err)
	}
	return out, nil
}

// userAuth sets a bearer token (inline or file, re-read on change) or
// basic auth; client-go prefers the token when both are given.
func userAuth(h *config.HTTPClientConfig, token, tokenFile, user, pass string) error {
	switch {
	case token != "":
		h.Authorization = &config.Authorization{Type: "Bearer", Credentials: config.Secret(token)}
	case tokenFile != "":
		h.Authorization = &config.Authorization{Type: "Bearer", CredentialsFile: tokenFile}
	case user != "" || pass != "":
		if user == "" {
			return errors.New("password without username")
		}
		h.BasicAuth = &config.BasicAuth{Username: user, Password: config.Secret(pass)}
	}
	return nil
}
