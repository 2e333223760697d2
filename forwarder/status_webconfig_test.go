package forwarder

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/promfwd/promfwd/forwarder/config"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	dir                  string
	pool                 *x509.CertPool
	clientCert           tls.Certificate
	caFile, crt, key     string
	clientCrt, clientKey string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "promfwd test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &testPKI{dir: dir, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = writePEM(t, dir, "ca.crt", "CERTIFICATE", caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (crtFile, keyFile string, cert tls.Certificate) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(k)
		crtFile = writePEM(t, dir, name+".crt", "CERTIFICATE", der)
		keyFile = writePEM(t, dir, name+".key", "EC PRIVATE KEY", kb)
		cert, err = tls.LoadX509KeyPair(crtFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		return crtFile, keyFile, cert
	}
	p.crt, p.key, _ = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCrt, p.clientKey, p.clientCert = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runSecured runs a forwarder whose server uses webConfig (YAML) and
// returns the server's host:port.
func runSecured(t *testing.T, dir, webConfig string) string {
	t.Helper()
	wc := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(wc, []byte(webConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "promfwd.yaml")
	yaml := "shutdown_timeout: 1s\nserver:\n  listen: 127.0.0.1:0\n  web_config_file: web.yml\n" +
		"sources: [{name: s, url: 'http://127.0.0.1:1/metrics', interval: 1h}]\nsinks: [{name: out, type: stdout}]\n"
	cfg, err := config.Load(cfgPath, []byte(yaml))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.Server.WebConfigFile != wc {
		t.Fatalf("web_config_file resolved to %q, want %q (next to the config file)", cfg.Server.WebConfigFile, wc)
	}
	r := runConfig(t, cfg, nil)
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	return r.f.srv.Addr()
}

func TestWebConfig(t *testing.T) {
	pki := newTestPKI(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("tls and basic auth", func(t *testing.T) {
		addr := runSecured(t, pki.dir, fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\n  min_version: TLS13\nbasic_auth_users:\n  operator: %s\n",
			pki.crt, pki.key, hash))
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool}}}
		for _, tc := range []struct {
			name, user, pass string
			want             int
		}{
			{"right password", "operator", "s3cret-pw", http.StatusOK},
			{"wrong password", "operator", "wrong", http.StatusUnauthorized},
			{"unknown user", "mallory", "s3cret-pw", http.StatusUnauthorized},
			{"no credentials", "", "", http.StatusUnauthorized},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, path := range []string{"/api/v1/status", "/targets", "/metrics"} {
					req, _ := http.NewRequest(http.MethodGet, "https://"+addr+path, nil)
					if tc.user != "" {
						req.SetBasicAuth(tc.user, tc.pass)
					}
					resp, err := client.Do(req)
					if err != nil {
						t.Fatalf("GET %s: %v", path, err)
					}
					body, _ := io.ReadAll(resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != tc.want {
						t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, tc.want)
					}
					if tc.want == http.StatusOK && path == "/api/v1/status" && !strings.Contains(string(body), `"version":"test"`) {
						t.Errorf("status body: %s", body)
					}
				}
			})
		}
		// Plain HTTP is not served, and TLS 1.2 is below min_version.
		if resp, err := http.Get("http://" + addr + "/api/v1/status"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Error("plain HTTP answered 200 on a TLS server")
			}
		}
		old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool, MaxVersion: tls.VersionTLS12}}}
		if resp, err := old.Get("https://" + addr + "/healthz"); err == nil {
			_ = resp.Body.Close()
			t.Error("a TLS 1.2 client was served despite min_version: TLS13")
		}
	})

	t.Run("client certificate required", func(t *testing.T) {
		addr := runSecured(t, pki.dir, fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: %s\n",
			pki.crt, pki.key, pki.caFile))
		anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool}}}
		if resp, err := anon.Get("https://" + addr + "/api/v1/status"); err == nil {
			_ = resp.Body.Close()
			t.Errorf("served without a client certificate: %d", resp.StatusCode)
		}
		withCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.clientCert}}}}
		resp, err := withCert.Get("https://" + addr + "/api/v1/status")
		if err != nil {
			t.Fatalf("with a client certificate: %v", err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("with a client certificate: %d", resp.StatusCode)
		}
	})

	t.Run("bad file fails at load", func(t *testing.T) {
		dir := t.TempDir()
		for name, content := range map[string]string{
			"bad hash":      "basic_auth_users:\n  operator: not-a-bcrypt-hash\n",
			"missing cert":  "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n",
			"unknown field": "tls_server_config:\n  cert_fil: x\n",
		} {
			wc := filepath.Join(dir, "web.yml")
			if err := os.WriteFile(wc, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := config.Load(filepath.Join(dir, "p.yaml"), []byte("server:\n  web_config_file: web.yml\nsources: [{name: s, url: 'http://127.0.0.1:1/m'}]\nsinks: [{name: out, type: stdout}]\n"))
			if err == nil || !strings.Contains(err.Error(), "web_config_file") {
				t.Errorf("%s: Load error %v, want one naming server.web_config_file", name, err)
			}
		}
	})
}
