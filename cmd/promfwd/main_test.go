package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	inlineToken  = "tok-INLINE-5ecr3t-42"
	headerSecret = "hdr-5ecr3t-value-77"
	fileToken    = "tok-FILE-5ecr3t-99"
)

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runCLI runs the command line in-process and returns its exit code and output.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestCheck(t *testing.T) {
	t.Setenv("PROMFWD_CONFIG", "")
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "token", fileToken+"\n")
	secrets := fmt.Sprintf(`sources:
  - name: api
    url: https://metrics.example.com/metrics
    bearer_token: %s
    headers:
      X-Api-Key: %s
  - name: scout
    url: https://api.scout.example.com/metrics
    bearer_token_file: %s
sinks:
  - name: out
    type: stdout
`, inlineToken, headerSecret, tokenFile)

	cases := []struct {
		name     string
		config   string
		code     int
		stdout   []string // substrings
		stderr   []string
		noSecret bool
	}{
		{
			name:   "minimal",
			config: "sources:\n  - name: a\n    url: http://127.0.0.1:9100/metrics\nsinks:\n  - name: out\n    type: stdout\n",
			code:   0,
			stdout: []string{"name: a", "interval: 1m", "type: stdout", "resend_after: 4m"},
		},
		{
			name: "aggregate output names",
			config: "sources:\n  - name: a\n    url: http://127.0.0.1:9100/metrics\nsinks:\n  - name: out\n    type: stdout\n" +
				"    aggregate:\n      - match: '{__name__=~\"scalr_.*\"}'\n        interval: 1m\n        without: [pod, instance]\n        outputs: [total, quantiles(0.5, 0.99)]\n",
			code: 0,
			stdout: []string{"# sink out aggregate[0] {__name__=~\"scalr_.*\"} every 1m -> <name>:1m_without_instance_pod_total, <name>:1m_without_instance_pod_quantiles (matched input dropped)",
				"- quantiles(0.5, 0.99)"},
		},
		{
			name:     "secrets redacted",
			config:   secrets,
			code:     0,
			stdout:   []string{"bearer_token: <secret>", "X-Api-Key: <secret>", "bearer_token_file: " + tokenFile},
			noSecret: true,
		},
		{
			name: "typo in a source key",
			config: "sources:\n  - name: a\n    url: http://127.0.0.1:9100/metrics\n    bearer_token: " + inlineToken +
				"\n    intervall: 10s\nsinks:\n  - name: out\n    type: stdout\n",
			code:     1,
			stderr:   []string{"cfg.yaml:5:5:", "intervall", "unknown field", `did you mean "interval"`},
			noSecret: true,
		},
		{
			name:   "typo in a sink key",
			config: "sources:\n  - name: a\n    url: http://127.0.0.1:9100/metrics\nsinks:\n  - name: out\n    type: stdout\n    flush_intervall: 1s\n",
			code:   1,
			stderr: []string{"cfg.yaml:7:5:", "flush_intervall"},
		},
		{
			name:   "unknown sink type",
			config: "sources:\n  - name: a\n    url: http://127.0.0.1:9100/metrics\nsinks:\n  - name: out\n    type: kafka\n",
			code:   1,
			stderr: []string{"cfg.yaml:6:", "kafka", "hec, datadog, remote_write, stdout"},
		},
		{
			name:   "bad duration",
			config: "sources:\n  - name: a\n    url: http://127.0.0.1:9100/metrics\n    interval: soon\nsinks:\n  - name: out\n    type: stdout\n",
			code:   1,
			stderr: []string{"cfg.yaml:4:", "interval"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "cfg.yaml", c.config)
			code, out, errOut := runCLI("check", "-config", path)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errOut)
			}
			for _, s := range c.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range c.stderr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
			for _, s := range []string{inlineToken, headerSecret, fileToken} {
				if strings.Contains(out+errOut, s) {
					t.Errorf("output shows the secret %q:\n%s%s", s, out, errOut)
				}
			}
		})
	}
}

func TestCheckNeedsConfig(t *testing.T) {
	t.Setenv("PROMFWD_CONFIG", "")
	code, _, errOut := runCLI("check")
	if code != 2 || !strings.Contains(errOut, "-config") {
		t.Errorf("check without -config: exit %d, stderr %q; want 2 naming -config", code, errOut)
	}
	code, _, errOut = runCLI("check", "-config", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != 1 || !strings.Contains(errOut, "missing.yaml") {
		t.Errorf("check of a missing file: exit %d, stderr %q; want 1 naming the file", code, errOut)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI("version")
	if code != 0 || !strings.HasPrefix(out, "promfwd ") || len(strings.TrimSpace(out)) <= len("promfwd") {
		t.Errorf("version: exit %d, stdout %q", code, out)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {}, {"check", "-nosuchflag"}} {
		code, _, errOut := runCLI(args...)
		if code != 2 || !strings.Contains(errOut, "usage") && !strings.Contains(errOut, "Usage") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and the usage", args, code, errOut)
		}
	}
	code, _, errOut := runCLI("frobnicate")
	if !strings.Contains(errOut, `"frobnicate"`) {
		t.Errorf("unknown command not named: exit %d, %q", code, errOut)
	}
}

// TestOnce scrapes a real target once and prints, per sink, the summary and
// the samples as JSON lines; nothing is sent to the sinks' destinations.
func TestOnce(t *testing.T) {
	t.Setenv("PROMFWD_CONFIG", "")
	var hecHits atomic.Int64
	hec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hecHits.Add(1)
		_, _ = io.WriteString(w, `{"text":"Success","code":0}`)
	}))
	defer hec.Close()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+fileToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "# TYPE once_up gauge\nonce_up 1\n# TYPE once_req_total counter\nonce_req_total{code=\"200\"} 12\nskipped_metric 3\n")
	}))
	defer target.Close()
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "token", fileToken)
	path := writeFile(t, dir, "once.yaml", fmt.Sprintf(`
sources:
  - name: web
    url: %s/metrics
    bearer_token_file: %s
    labels:
      env: test
    metric_relabel_configs:
      - source_labels: [__name__]
        action: drop
        regex: skipped_.*
sinks:
  - name: console
    type: stdout
  - name: splunk
    type: hec
    url: %s
    token: hec-5ecr3t
`, target.URL, tokenFile, hec.URL))

	code, out, errOut := runCLI("once", "-config", path, "-log-format", "json")
	if code != 0 {
		t.Fatalf("once: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, s := range []string{
		"# source web: scrape: 3 samples",
		"# source web: after metric_relabel_configs: 2 samples (1 dropped by the rules, 0 invalid or merged)",
		"# sink console (stdout): 7 samples", // and the 5 per-target series
		"# sink splunk (hec): 7 samples",
		"request(s)",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("stdout lacks %q:\n%s", s, out)
		}
	}
	type line struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
		Value  float64           `json:"value"`
		Kind   string            `json:"kind"`
		TimeMs int64             `json:"time_ms"`
	}
	got := map[string]line{} // what the console sink would receive
	section := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			section = sc.Text()
			continue
		}
		if !strings.HasPrefix(section, "# sink console") {
			continue
		}
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		got[l.Name] = l
	}
	if l := got["once_up"]; l.Value != 1 || l.Kind != "gauge" || l.Labels["env"] != "test" || l.Labels["job"] != "web" || l.TimeMs == 0 {
		t.Errorf("once_up = %+v", l)
	}
	if l := got["once_req_total"]; l.Value != 12 || l.Kind != "counter" || l.Labels["code"] != "200" {
		t.Errorf("once_req_total = %+v", l)
	}
	if _, ok := got["skipped_metric"]; ok {
		t.Error("metric_relabel drop ignored")
	}
	if n := hecHits.Load(); n != 0 {
		t.Errorf("once sent %d requests to the HEC sink; it must send nothing", n)
	}
	if strings.Contains(out+errOut, fileToken) || strings.Contains(out+errOut, "hec-5ecr3t") {
		t.Error("once output shows a token")
	}

	// -sink limits the output to one sink; an unknown sink is an error.
	code, out, _ = runCLI("once", "-config", path, "-sink", "splunk")
	if code != 0 || strings.Contains(out, "# sink console") || !strings.Contains(out, "# sink splunk") {
		t.Errorf("once -sink splunk: exit %d\n%s", code, out)
	}
	code, _, errOut = runCLI("once", "-config", path, "-sink", "nope")
	// The error lists the defined sinks, with one command prefix.
	if want := "promfwd once: no sink named \"nope\" (defined sinks: console, splunk)\n"; code != 1 || errOut != want {
		t.Errorf("once -sink nope: exit %d, stderr %q; want %q", code, errOut, want)
	}
}

// TestOnceFailingSource exits 1 and names the failed source.
func TestOnceFailingSource(t *testing.T) {
	t.Setenv("PROMFWD_CONFIG", "")
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer target.Close()
	path := writeFile(t, t.TempDir(), "once.yaml", fmt.Sprintf(
		"sources:\n  - name: locked\n    url: %s/metrics\n    bearer_token: %s\nsinks:\n  - name: out\n    type: stdout\n", target.URL, inlineToken))
	code, out, errOut := runCLI("once", "-config", path)
	if code != 1 || !strings.Contains(out+errOut, "locked") || !strings.Contains(out, "401") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, inlineToken) {
		t.Error("output shows the token")
	}
}

// TestRunSIGTERM runs the service and sends the process SIGTERM: run must
// stop scraping, flush and exit 0, and the stdout sink's events must have
// gone to run's stdout argument (not os.Stdout). run's signal handler is installed before
// the first scrape, so the signal never reaches the test binary itself.
func TestRunSIGTERM(t *testing.T) {
	t.Setenv("PROMFWD_CONFIG", "")
	var scrapes atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		scrapes.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "# TYPE sigterm_test gauge\nsigterm_test 1\n")
	}))
	defer target.Close()
	path := writeFile(t, t.TempDir(), "run.yaml", fmt.Sprintf(`
shutdown_timeout: 10s
server:
  listen: 127.0.0.1:0
sources:
  - name: sig
    url: %s/metrics
    interval: 1s
sinks:
  - name: out
    type: stdout
    flush_interval: 100ms
`, target.URL))
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	var o syncBuffer // systemd_test.go; read while run writes to it
	go func() {
		var e bytes.Buffer
		code := run([]string{"run", "-config", path, "-log-format", "json"}, &o, &e)
		done <- result{code, o.String(), e.String()}
	}()
	deadline := time.Now().Add(15 * time.Second)
	for scrapes.Load() == 0 || !strings.Contains(o.String(), `"sigterm_test"`) {
		select {
		case r := <-done:
			t.Fatalf("run exited %d before scraping:\n%s", r.code, r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scrape printed to run's stdout within 15s (%d scrapes)", scrapes.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.code != 0 {
			t.Errorf("run exited %d after SIGTERM:\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "shutdown complete") {
			t.Errorf("no clean shutdown in the log:\n%s", r.stderr)
		}
		checkStartupLog(t, r.stderr, path)
		// Every line on run's stdout is an event; sigterm_test among them.
		var events int
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var ev struct {
				Name  string  `json:"name"`
				Value float64 `json:"value"`
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("stdout line %q is not a JSON event: %v", line, err)
			}
			if ev.Name == "sigterm_test" && ev.Value == 1 {
				events++
			}
		}
		if events == 0 {
			t.Errorf("no sigterm_test event printed to run's stdout:\n%s", r.stdout)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not exit within 30s of SIGTERM")
	}
}
