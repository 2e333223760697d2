package forwarder

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// TestMissingCredentialFilesStartUnhealthy: a source whose
// bearer_token_file and a HEC sink whose token_file do not exist yet are
// treated alike: the service starts, logs each once, /readyz names both;
// once the files are written the scrape succeeds, the queued data is
// delivered and /readyz is 200 again.
func TestMissingCredentialFilesStartUnhealthy(t *testing.T) {
	const bearer = "src-t0ken-1234"
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+bearer {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "# TYPE cred_up gauge\ncred_up 1\n")
	}))
	defer target.Close()
	rcv := hectest.New(t, hectest.Options{})
	dir := t.TempDir()
	srcFile, sinkFile := filepath.Join(dir, "src_token"), filepath.Join(dir, "hec_token")
	r := runFwd(t, fmt.Sprintf(`
shutdown_timeout: 5s
server:
  listen: 127.0.0.1:0
sources:
  - name: locked
    url: %s/metrics
    interval: 1s
    bearer_token_file: %s
sinks:
  - name: splunk
    type: hec
    url: %s
    token_file: %s
    flush_interval: 100ms
    max_backoff: 1s
`, target.URL, srcFile, rcv.URL(), sinkFile))

	readyz := func() (int, string) {
		resp, err := http.Get(r.selfURL(t) + "/readyz")
		if err != nil {
			t.Fatalf("GET /readyz: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	code, body := readyz()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "source locked") || !strings.Contains(body, "sink splunk") {
		t.Errorf("/readyz = %d %q, want 503 naming source locked and sink splunk", code, body)
	}
	warned := map[string]bool{}
	for _, e := range r.logs.FilterMessageSnippet("credential file unreadable").All() {
		warned[fmt.Sprint(e.ContextMap()["field"])] = true
	}
	if !warned["sources[0].bearer_token_file"] || !warned["sinks[0].token_file"] {
		t.Errorf("startup warnings for %v, want sources[0].bearer_token_file and sinks[0].token_file", warned)
	}

	for p, v := range map[string]string{srcFile: bearer, sinkFile: hectest.DefaultToken} {
		if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body = readyz()
		if code == http.StatusOK && len(rcv.Events()) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered within 30s of writing the files: /readyz %d %q, %d events", code, body, len(rcv.Events()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
