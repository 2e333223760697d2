package scrape

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"
)

func TestParseEndpoint(t *testing.T) {
	cases := []struct {
		raw, path       string
		reqURL, display string
		socket          string
		wantErr         string
	}{
		{"http://127.0.0.1:9100/metrics", "/metrics", "http://127.0.0.1:9100/metrics", "http://127.0.0.1:9100/metrics", "", ""},
		{"https://u:p@h/m?token=abc&x", "/metrics", "https://u:p@h/m?token=abc&x", "https://h/m?token=<secret>&x", "", ""},
		{"unix:///run/docker/metrics.sock", "/metrics", "http://localhost/metrics", "unix:///run/docker/metrics.sock:/metrics", "/run/docker/metrics.sock", ""},
		{"unix:///s.sock", "/v1/stats", "http://localhost/v1/stats", "unix:///s.sock:/v1/stats", "/s.sock", ""},
		{"unix://", "/metrics", "", "", "", "want unix:///"},
		{"gopher://h", "/metrics", "", "", "", "not supported"},
	}
	for _, c := range cases {
		t.Run(c.raw, func(t *testing.T) {
			ep, err := parseEndpoint(c.raw, c.path)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ep.reqURL != c.reqURL || ep.display != c.display || ep.socketPath != c.socket {
				t.Errorf("got %+v", ep)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"http://h/m":                         "http://h/m",
		"http://user:pass@h/m":               "http://h/m",
		"http://h/m?api_key=S&format=p#frag": "http://h/m?api_key=<secret>&format=<secret>",
		"http://h/m?flag":                    "http://h/m?flag",
		"https://h:8443/a%20b?t=x%20y":       "https://h:8443/a%20b?t=<secret>",
	}
	for in, want := range cases {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := redactURL(u); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// tgtAuthServer answers 200 only to the expected Authorization header and
// reports every header it saw.
func tgtAuthServer(t *testing.T, want *string) (*httptest.Server, chan string) {
	t.Helper()
	seen := make(chan string, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		seen <- got
		if got != *want {
			// A careless server echoes the credentials back.
			http.Error(w, "denied: "+got, http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("up 1\n"))
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func TestScrapeBearerTokenFileRotation(t *testing.T) {
	want := "Bearer first-token"
	srv, seen := tgtAuthServer(t, &want)
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("first-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tg := tgtNew(t, srv.URL, func(c *TargetConfig) { c.HTTP.BearerTokenFile = file })

	if res := tg.Scrape(context.Background(), tgtNow); res.Err != nil {
		t.Fatalf("first scrape: %v", res.Err)
	}
	if got := <-seen; got != "Bearer first-token" {
		t.Fatalf("server saw %q", got)
	}

	// Rotate: the server now wants the new token, the file has it.
	want = "Bearer second-token"
	if err := os.WriteFile(file, []byte("second-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := tg.Scrape(context.Background(), tgtNow); res.Err != nil {
		t.Fatalf("after rotation: %v", res.Err)
	}
	if got := <-seen; got != "Bearer second-token" {
		t.Fatalf("server saw %q after rotation", got)
	}

	// The server rotates ahead of us: 401, and the token is not echoed.
	want = "Bearer third-token"
	res := tg.Scrape(context.Background(), tgtNow)
	<-seen
	if res.Err == nil || !strings.Contains(res.Err.Error(), "refused the credentials") {
		t.Fatalf("err = %v, want credentials refused", res.Err)
	}
	if strings.Contains(res.Err.Error(), "second-token") {
		t.Fatalf("token leaked: %v", res.Err)
	}

	// A missing token file is a clear error naming the file, not the token.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	res = tg.Scrape(context.Background(), tgtNow)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "token") {
		t.Fatalf("err = %v, want token file error", res.Err)
	}
}

// Secrets configured in any form never reach an error string or Result.URL,
// whatever the failure.
func TestScrapeSecretsNeverLeak(t *testing.T) {
	const secret = "s3cr3t-VALUE-42"
	want := "never matches"
	echo, _ := tgtAuthServer(t, &want)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	hdrFile := filepath.Join(t.TempDir(), "hdr")
	if err := os.WriteFile(hdrFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	auths := map[string]func(*TargetConfig){
		"bearer": func(c *TargetConfig) { c.HTTP.BearerToken = secret },
		"basic":  func(c *TargetConfig) { c.HTTP.BasicAuth = &commoncfg.BasicAuth{Username: "u", Password: secret} },
		"userinfo": func(c *TargetConfig) {
			u, _ := url.Parse(c.URL)
			u.User = url.UserPassword("u", secret)
			c.URL = u.String()
		},
		"query": func(c *TargetConfig) { c.URL += "?api_key=" + secret },
		"header file": func(c *TargetConfig) {
			c.HTTP.HTTPHeaders = &commoncfg.Headers{Headers: map[string]commoncfg.Header{
				"X-Api-Key": {Files: []string{hdrFile}}}}
		},
	}
	// The echo server puts the Authorization header in its 401 body; for
	// the header-file case, echo X-Api-Key too.
	echoAll := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "denied "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Api-Key")+" "+r.URL.RawQuery, http.StatusForbidden)
	}))
	defer echoAll.Close()
	targets := map[string]string{"echo 401": echo.URL, "echo 403": echoAll.URL, "refused": deadURL}
	for an, auth := range auths {
		for tn, base := range targets {
			t.Run(an+"/"+tn, func(t *testing.T) {
				tg := tgtNew(t, base+"/metrics", auth)
				res := tg.Scrape(context.Background(), tgtNow)
				if res.Err == nil {
					t.Fatal("no error")
				}
				for _, s := range []string{res.Err.Error(), res.URL, tg.URL()} {
					if strings.Contains(s, secret) {
						t.Errorf("secret leaked: %s", s)
					}
				}
			})
		}
	}
}

func TestScrapeBasicAuth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "scout" || p != "pw" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("up 1\n"))
	}))
	defer srv.Close()
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		auth *commoncfg.BasicAuth
		ok   bool
	}{
		{"inline", &commoncfg.BasicAuth{Username: "scout", Password: "pw"}, true},
		{"password file", &commoncfg.BasicAuth{Username: "scout", PasswordFile: pwFile}, true},
		{"wrong", &commoncfg.BasicAuth{Username: "scout", Password: "nope"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := tgtNew(t, srv.URL, func(cfg *TargetConfig) { cfg.HTTP.BasicAuth = c.auth }).Scrape(context.Background(), tgtNow)
			if (res.Err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", res.Err, c.ok)
			}
		})
	}
}

// tgtPKI is a CA with one server and one client certificate, as PEM files.
type tgtPKI struct {
	caFile, clientCert, clientKey string
	pool                          *x509.CertPool
	server                        tls.Certificate
}

func tgtNewPKI(t *testing.T) tgtPKI {
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
	issue := func(serial int64, usage x509.ExtKeyUsage) ([]byte, []byte, tls.Certificate) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			KeyUsage: x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return certPEM, keyPEM, pair
	}
	p := tgtPKI{caFile: filepath.Join(dir, "ca.pem"), clientCert: filepath.Join(dir, "client.pem"), clientKey: filepath.Join(dir, "client.key"), pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	_, _, p.server = issue(2, x509.ExtKeyUsageServerAuth)
	cc, ck, _ := issue(3, x509.ExtKeyUsageClientAuth)
	for f, b := range map[string][]byte{p.caFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), p.clientCert: cc, p.clientKey: ck} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestScrapeTLS(t *testing.T) {
	pki := tgtNewPKI(t)
	start := func(mtls bool) *httptest.Server {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("up 1\n"))
		}))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected handshake failures
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}
		if mtls {
			srv.TLS.ClientAuth, srv.TLS.ClientCAs = tls.RequireAndVerifyClientCert, pki.pool
		}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	plain, mutual := start(false), start(true)
	cases := []struct {
		name    string
		srv     *httptest.Server
		tls     commoncfg.TLSConfig
		wantErr string
	}{
		{"with CA", plain, commoncfg.TLSConfig{CAFile: pki.caFile}, ""},
		{"without CA", plain, commoncfg.TLSConfig{}, "certificate"},
		{"insecure skip verify", plain, commoncfg.TLSConfig{InsecureSkipVerify: true}, ""},
		{"mTLS with client cert", mutual, commoncfg.TLSConfig{CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey}, ""},
		{"mTLS without client cert", mutual, commoncfg.TLSConfig{CAFile: pki.caFile}, "certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := tgtNew(t, c.srv.URL, func(cfg *TargetConfig) { cfg.HTTP.TLSConfig = c.tls })
			res := tg.Scrape(context.Background(), tgtNow)
			if c.wantErr == "" {
				if res.Err != nil || len(res.Samples) != 1 {
					t.Fatalf("result = %+v", res)
				}
				return
			}
			if res.Err == nil || !strings.Contains(res.Err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want %q", res.Err, c.wantErr)
			}
		})
	}
}
