package forwarder

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/promfwd/promfwd/forwarder/config"
)

// redactionSecrets are every kind of config secret, each unique, plus the
// forms they travel in (basic auth is base64 of user:password).
var redactionSecrets = []string{
	"src-q-SECRET1", "src-bearer-SECRET2", "src-hdr-SECRET3", "src-pw-SECRET4",
	"hec-tok-SECRET5", "dd-q-SECRET6", "dd-key-SECRET7", "rw-q-SECRET8",
	"rw-hdr-SECRET9", "rw-pw-SECRET10", "rw-bearer-SECRET11", "tls-key-SECRET12",
	"userinfo-SECRET13",
	base64.StdEncoding.EncodeToString([]byte("u:src-pw-SECRET4")),
	base64.StdEncoding.EncodeToString([]byte("u:rw-pw-SECRET10")),
}

func findSecrets(text string) []string {
	var found []string
	for _, s := range redactionSecrets {
		if strings.Contains(text, s) {
			found = append(found, s)
		}
	}
	return found
}

// echoServer answers /good/metrics with an exposition and everything else
// with a 400 that echoes the request line and headers: a careless receiver
// or target that would carry any credential into an error or a log.
func echoServer(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/good/metrics" {
			_, _ = io.WriteString(w, "# TYPE redaction_test gauge\nredaction_test 1\n")
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, "rejected %s %s\n", r.Method, r.RequestURI)
		_ = r.Header.Write(w)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// TestRedactionEverywhere runs every config secret (URL query values, URL
// user info, headers, tokens, keys, passwords) through `promfwd check`'s
// output, config errors, the logs at debug level (which carry every error)
// and every endpoint of the self server, and finds none.
func TestRedactionEverywhere(t *testing.T) {
	echo, seen := echoServer(t)
	cfgYAML := fmt.Sprintf(`
shutdown_timeout: 5s
server:
  listen: 127.0.0.1:0
sources:
  - name: good
    url: %[1]s/good/metrics
    interval: 1s
  - name: query
    url: %[1]s/metrics?api_key=src-q-SECRET1
    interval: 1s
    bearer_token: src-bearer-SECRET2
    headers: { X-Api-Key: src-hdr-SECRET3 }
  - name: basic
    url: %[1]s/metrics
    interval: 1s
    basic_auth: { username: u, password: src-pw-SECRET4 }
sinks:
  - name: hec
    type: hec
    url: %[1]s
    token: hec-tok-SECRET5
    flush_interval: 100ms
  - name: dd
    type: datadog
    url: %[1]s/dd?api_key=dd-q-SECRET6
    api_key: dd-key-SECRET7
    flush_interval: 100ms
  - name: rw
    type: remote_write
    url: %[1]s/rw?token=rw-q-SECRET8
    headers: { X-Scope-OrgID: rw-hdr-SECRET9 }
    basic_auth: { username: u, password: rw-pw-SECRET10 }
    flush_interval: 100ms
  - name: rw2
    type: remote_write
    url: %[1]s/rw2
    bearer_token: rw-bearer-SECRET11
    flush_interval: 100ms
`, echo.URL)

	t.Run("check", func(t *testing.T) {
		cfg, err := config.Load("check.yaml", []byte(cfgYAML+`
  - name: tlsout
    type: remote_write
    url: https://127.0.0.1:1/w
    tls: { key: tls-key-SECRET12, cert_file: /nonexistent.pem }
`))
		if err != nil {
			t.Fatal(err)
		}
		out, err := cfg.Redacted()
		if err != nil {
			t.Fatal(err)
		}
		if found := findSecrets(string(out)); len(found) > 0 {
			t.Errorf("check output shows %q:\n%s", found, out)
		}
	})

	t.Run("config errors", func(t *testing.T) {
		for _, bad := range []string{
			"sources: [{name: a, url: 'http://u:userinfo-SECRET13@127.0.0.1/metrics'}]\nsinks: [{name: o, type: stdout}]",
			"sources: [{name: a, url: 'http://127.0.0.1/metrics'}]\nsinks: [{name: o, type: remote_write, url: 'http://u:userinfo-SECRET13@127.0.0.1/w'}]",
			"sources: [{name: a, url: 'http://127.0.0.1/metrics'}]\nsinks: [{name: o, type: datadog, api_key: k, url: 'http://u:userinfo-SECRET13@127.0.0.1/'}]",
			"sources: [{name: a, url: 'http://127.0.0.1/metrics'}]\nsinks: [{name: o, type: hec, token: t, url: 'http://u:userinfo-SECRET13@127.0.0.1/'}]",
			"sources: [{name: a, url: 'ftp://127.0.0.1/metrics?k=src-q-SECRET1'}]\nsinks: [{name: o, type: stdout}]",
			"sources: [{name: a, url: 'http://127.0.0.1/metrics'}]\nsinks: [{name: o, type: datadog, api_key: k, url: 'ftp://h/?api_key=dd-q-SECRET6'}]",
			"sources: [{name: a, url: 'http://127.0.0.1/metrics'}]\nsinks: [{name: o, type: datadog, api_key: k, url: \"http://h/%zz?api_key=dd-q-SECRET6\"}]",
			"sources: [{name: a, url: 'http://127.0.0.1/metrics'}]\nsinks: [{name: o, type: remote_write, url: 'ftp://h/w?token=rw-q-SECRET8'}]",
		} {
			_, err := config.Load("bad.yaml", []byte(bad))
			if err == nil {
				t.Errorf("Load accepted:\n%s", bad)
				continue
			}
			if found := findSecrets(err.Error()); len(found) > 0 {
				t.Errorf("config error shows %q: %v", found, err)
			}
		}
	})

	t.Run("run", func(t *testing.T) {
		r := runFwd(t, cfgYAML)
		// Every source and sink has been answered by the echo at least once.
		want := []string{"/metrics", "/services/collector", "/dd/api/v2/series", "/rw", "/rw2"}
		awaitCond(t, "every source and sink to meet the echo", func() bool {
			got := strings.Join(seen(), " ") + " "
			for _, p := range want {
				if !strings.Contains(got, p+" ") {
					return false
				}
			}
			return true
		})
		awaitCond(t, "the rejections to be logged", func() bool {
			n := 0
			for _, e := range r.logs.All() {
				if strings.Contains(entryText(e), "rejected POST") {
					n++
				}
			}
			return n >= 4
		})
		base := r.selfURL(t)
		// The status pages show the receivers' answers (which echo our
		// request line and headers) as the sinks' last rejections.
		awaitCond(t, "the rejections on /api/v1/sinks", func() bool {
			return strings.Count(getBody(t, base+"/api/v1/sinks"), "rejected POST") >= 4
		})
		for _, path := range []string{"/metrics", "/healthz", "/readyz", "/", "/targets", "/sinks", "/config",
			"/api/v1/status", "/api/v1/targets", "/api/v1/sinks", "/api/v1/config"} {
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if found := findSecrets(string(body)); len(found) > 0 {
				t.Errorf("self server %s shows %q", path, found)
			}
		}
		if err := r.stop(t); err != nil {
			t.Errorf("stop: %v", err)
		}
		for _, e := range r.logs.All() {
			if found := findSecrets(entryText(e)); len(found) > 0 {
				t.Errorf("log shows %q: %s", found, entryText(e))
			}
		}
	})
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
