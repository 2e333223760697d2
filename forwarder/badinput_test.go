package forwarder

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
)

// TestRunBadInput runs one forwarder with a good source next to one source
// per kind of failure. Each failure must count in
// promfwd_source_scrape_errors_total under its own reason, log one warning
// naming the source and URL (not one per scrape), leak no token, deliver
// nothing from the failed scrape, and leave the good source delivering.
func TestRunBadInput(t *testing.T) {
	t.Parallel()
	const token = "wrong-token-s3cr3t-9f8e7d"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	good := newE2ETarget(t, func(n int) string { return fmt.Sprintf("# TYPE good_seq gauge\ngood_seq %d\n", n) })
	serve := func(h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL + "/metrics"
	}
	text := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	}

	// The valid lines before the broken one must not be delivered.
	malformed := serve(func(w http.ResponseWriter, _ *http.Request) {
		text(w)
		_, _ = io.WriteString(w, "# TYPE half_ok gauge\nhalf_ok 1\nhalf_ok{a=\"1\" 2\n")
	})
	// Streams up to 1 GiB of valid exposition; promfwd must hang up after
	// body_size_limit, long before.
	var streamed atomic.Int64
	oversized := serve(func(w http.ResponseWriter, _ *http.Request) {
		text(w)
		chunk := []byte(strings.Repeat("big_metric_with_a_long_name{label=\"value\"} 1\n", 700))
		for streamed.Load() < 1<<30 {
			n, err := w.Write(chunk)
			streamed.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	tooMany := serve(func(w http.ResponseWriter, _ *http.Request) {
		text(w)
		for i := range 50 {
			fmt.Fprintf(w, "many_series{i=\"%d\"} %d\n", i, i)
		}
	})
	// Rejects the token and echoes it back, as some servers do: the echo
	// must not reach a log line.
	unauthorized := serve(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer right-token" {
			text(w)
			_, _ = io.WriteString(w, "authed 1\n")
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "invalid credentials %q", r.Header.Get("Authorization"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/metrics"
	ln.Close()
	slow := serve(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		text(w)
		_, _ = io.WriteString(w, "too_late 1\n")
	})
	html := serve(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Please sign in</body></html>\n")
	})

	r := runFwd(t, fmt.Sprintf(`
shutdown_timeout: 10s
server:
  listen: ""
dedupe:
  enabled: false
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
sources:
  - name: good
    url: %s/metrics
    target_series: false
  - name: malformed
    url: %s
    target_series: false
  - name: oversized
    url: %s
    target_series: false
    body_size_limit: 64KiB
  - name: too_many
    url: %s
    target_series: false
    sample_limit: 10
  - name: unauthorized
    url: %s
    target_series: false
    bearer_token_file: %s
  - name: refused
    url: %s
    target_series: false
  - name: slow
    url: %s
    target_series: false
    timeout: 300ms
  - name: html
    url: %s
    target_series: false
sinks:
  - name: out
    type: stdout
    flush_interval: 100ms
`, good.srv.URL, malformed, oversized, tooMany, unauthorized, tokenFile, refused, slow, html))
	reg := r.f.Registry()
	out := r.out["out"]

	cases := []struct {
		source, reason, url string
		errHas              string // in the logged error, if set
	}{
		{"malformed", reasonParse, malformed, ""},
		{"oversized", reasonBodySize, oversized, ""},
		{"too_many", reasonLimit, tooMany, ""},
		{"unauthorized", reasonAuth, unauthorized, ""},
		{"refused", reasonConnect, refused, ""},
		{"slow", reasonTimeout, slow, ""},
		{"html", reasonType, html, `unexpected Content-Type "text/html; charset=utf-8"`},
	}
	errorsOf := func(source, reason string) float64 {
		return gatherValue(t, reg, "promfwd_source_scrape_errors_total", map[string]string{"source": source, "reason": reason})
	}
	// At least two failures each, so the log line is seen to be rate-limited,
	// while the good source keeps delivering.
	awaitCond(t, "every bad source to fail twice and the good one to deliver 3 scrapes", func() bool {
		for _, c := range cases {
			if errorsOf(c.source, c.reason) < 2 {
				return false
			}
		}
		return len(out.linesOf(t, "good")) >= 3
	})
	before := len(out.linesOf(t, "good"))
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}

	for _, c := range cases {
		t.Run(c.source, func(t *testing.T) {
			if n := errorsOf(c.source, c.reason); n < 2 {
				t.Errorf("errors{reason=%q} = %v, want >= 2", c.reason, n)
			}
			var warned int
			for _, e := range r.logs.All() {
				if e.Message != "scrape failed" || e.ContextMap()["source"] != c.source {
					continue
				}
				warned++
				if e.Level != zapcore.WarnLevel {
					t.Errorf("logged at %s, want warn", e.Level)
				}
				fields := e.ContextMap()
				if u, _ := fields["url"].(string); u == "" || !strings.Contains(c.url, u) && !strings.Contains(u, hostOf(c.url)) {
					t.Errorf("log url = %q, want the target %s", fields["url"], c.url)
				}
				if fields["reason"] != c.reason {
					t.Errorf("log reason = %v, want %s", fields["reason"], c.reason)
				}
				if msg, _ := fields["error"].(string); !strings.Contains(msg, c.errHas) {
					t.Errorf("log error = %q, want it to contain %q", msg, c.errHas)
				}
				t.Logf("log: %s", entryText(e))
			}
			if warned != 1 {
				t.Errorf("%d 'scrape failed' log lines, want exactly 1 (repeats are rate-limited)", warned)
			}
			if n := gatherValue(t, reg, "promfwd_source_up", map[string]string{"source": c.source}); n != 0 {
				t.Errorf("promfwd_source_up = %v, want 0", n)
			}
			if got := out.linesOf(t, c.source); len(got) > 0 {
				t.Errorf("%d samples of the failed source were delivered, e.g. %+v", len(got), got[0])
			}
		})
	}

	for _, e := range r.logs.All() {
		if s := entryText(e); strings.Contains(s, token) {
			t.Errorf("log line leaks the token: %s", s)
		}
	}
	if n := streamed.Load(); n > 32<<20 {
		t.Errorf("oversized target streamed %d bytes before promfwd hung up; limit is 64KiB", n)
	}
	if got := len(out.linesOf(t, "good")); got < before || got < 3 {
		t.Errorf("good source delivered %d samples, want >= 3", got)
	}
	if n := gatherValue(t, reg, "promfwd_source_up", map[string]string{"source": "good"}); n != 1 {
		t.Errorf("good source up = %v, want 1", n)
	}
}

func hostOf(u string) string {
	u = strings.TrimPrefix(u, "http://")
	host, _, _ := strings.Cut(u, "/")
	return host
}
