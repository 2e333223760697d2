package remotewrite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// fastSink builds a sink whose client backs off for about a millisecond, so
// retry tests run quickly without changing what is retried.
func fastSink(t *testing.T, cfg Config, set sinks.Settings) *Sink {
	t.Helper()
	s, err := newSink(cfg, set, func(o *sinks.ClientOptions) {
		o.RetryWaitMin, o.RetryWaitMax = time.Millisecond, 2*time.Millisecond
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func configFor(url string) Config {
	c := DefaultConfig()
	c.URL = url
	return c
}

func oneRequest(t *testing.T, s *Sink) sinks.Request {
	t.Helper()
	enc, err := s.Encode([]scrape.Sample{smp("up", 1700000000000, 1, "job", "node")})
	if err != nil || len(enc.Requests) != 1 {
		t.Fatalf("Encode = %+v, %v", enc, err)
	}
	return enc.Requests[0]
}

func TestSendHeadersAndBody(t *testing.T) {
	type seen struct {
		header http.Header
		body   []byte
		method string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Header.Clone(), b, r.Method}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	cfg := configFor(srv.URL + "/api/v1/write")
	cfg.Headers = map[string]commoncfg.Secret{"X-Scope-OrgID": "tenant-1"}
	cfg.BearerToken = "tok-1"
	s := fastSink(t, cfg, sinks.Settings{UserAgent: "promfwd/1.2.3"})
	req := oneRequest(t, s)
	if err := s.Send(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	r := <-got
	want := map[string]string{
		"Content-Encoding":                  "snappy",
		"Content-Type":                      "application/x-protobuf",
		"X-Prometheus-Remote-Write-Version": "0.1.0",
		"User-Agent":                        "promfwd/1.2.3",
		"Authorization":                     "Bearer tok-1",
		"X-Scope-Orgid":                     "tenant-1",
	}
	for k, v := range want {
		if g := r.header.Values(k); len(g) != 1 || g[0] != v {
			t.Errorf("header %s = %q, want [%q]", k, g, v)
		}
	}
	if r.method != http.MethodPost {
		t.Errorf("method %s, want POST", r.method)
	}
	if string(r.body) != string(req.Body) {
		t.Error("body on the wire differs from the encoded request")
	}
	if series := decodeBody(t, r.body); len(series) != 1 || series[0].Labels[0] != (wireLabel{"__name__", "up"}) {
		t.Errorf("receiver decoded %+v", series)
	}
}

// statusServer answers every request with status and body; after `stopAfter`
// attempts it cancels the sender's context so retried statuses end.
func statusServer(t *testing.T, status int, body string, stopAfter int32, cancel func()) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if n.Add(1) == stopAfter {
			cancel()
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestSendClassification(t *testing.T) {
	long := strings.Repeat("x", 2000)
	cases := []struct {
		status     int
		body       string
		wantOK     bool
		permanent  bool
		unauth     bool
		retried    bool   // the client kept retrying until ctx ended
		wantReason string // for permanent errors
	}{
		{status: 200, wantOK: true},
		{status: 204, wantOK: true},
		{status: 400, body: "out of order sample\n", permanent: true, wantReason: "out of order sample"},
		{status: 400, body: long, permanent: true, wantReason: long[:512]},
		{status: 400, permanent: true, wantReason: "(empty answer)"},
		{status: 404, body: "404 page not found", permanent: true, wantReason: "404 page not found"},
		{status: 413, body: "too big", permanent: true, wantReason: "too big"},
		{status: 422, body: "bad", permanent: true, wantReason: "bad"},
		// remote-write 1.0: senders MUST retry 5xx (501 included) and 429,
		// and MUST NOT retry any other 4xx (401, 403, 408 included).
		{status: 501, body: "nope", retried: true},
		{status: 500, body: "boom", retried: true},
		{status: 503, body: "busy", retried: true},
		{status: 429, body: "slow down", retried: true},
		{status: 408, body: "timeout", permanent: true, wantReason: "timeout"},
		{status: 401, body: "who", unauth: true, permanent: true, wantReason: "who"},
		{status: 403, body: "no", unauth: true, permanent: true, wantReason: "no"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d_%d", tc.status, len(tc.body)), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			srv, attempts := statusServer(t, tc.status, tc.body, 3, cancel)
			health := sinks.NewHealth(nil)
			s := fastSink(t, configFor(srv.URL), sinks.Settings{Health: health})
			err := s.Send(ctx, oneRequest(t, s))
			if tc.wantOK {
				if err != nil {
					t.Fatalf("Send = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Send = nil, want an error")
			}
			var pe *sinks.PermanentError
			if got := errors.As(err, &pe); got != tc.permanent {
				t.Fatalf("Send = %v; permanent %v, want %v", err, got, tc.permanent)
			}
			if tc.permanent && (pe.Status != tc.status || pe.Reason != tc.wantReason) {
				t.Errorf("PermanentError{Status: %d, Reason: %q}, want %d, %q", pe.Status, pe.Reason, tc.status, tc.wantReason)
			}
			if got := errors.Is(err, sinks.ErrUnauthorized); got != tc.unauth {
				t.Errorf("Send = %v; unauthorized %v, want %v", err, got, tc.unauth)
			}
			if tc.unauth {
				if ok, _, _ := health.Status(); ok {
					t.Error("health still good after 401/403")
				}
			}
			if tc.retried {
				if !errors.Is(err, context.Canceled) || attempts.Load() != 3 {
					t.Errorf("Send = %v after %d attempts; want retries until the context ended (3)", err, attempts.Load())
				}
			} else if attempts.Load() != 1 {
				t.Errorf("%d attempts, want 1", attempts.Load())
			}
		})
	}
}

func TestSend503ThenSuccess(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		n := len(bodies)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	var retries atomic.Int32
	health := sinks.NewHealth(nil)
	s := fastSink(t, configFor(srv.URL), sinks.Settings{Health: health, OnRetry: func() { retries.Add(1) }})
	req := oneRequest(t, s)
	if err := s.Send(context.Background(), req); err != nil {
		t.Fatalf("Send = %v, want nil after a retry", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || retries.Load() != 1 {
		t.Fatalf("%d attempts, %d retries; want 2 and 1", len(bodies), retries.Load())
	}
	for i, b := range bodies {
		if string(b) != string(req.Body) {
			t.Errorf("attempt %d sent different bytes", i+1)
		}
	}
	if ok, _, last := health.Status(); !ok || last.IsZero() {
		t.Errorf("health after success: ok=%v last=%v", ok, last)
	}
}

func TestSendCancelledContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("request reached the server despite a cancelled context")
	}))
	defer srv.Close()
	s := fastSink(t, configFor(srv.URL), sinks.Settings{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Send(ctx, oneRequest(t, s))
	if !errors.Is(err, context.Canceled) || sinks.IsPermanent(err) {
		t.Fatalf("Send = %v, want a non-permanent context.Canceled", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestBearerTokenFileRotation(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, tokenFile, "old-token\n")
	var seen []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer new-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	cfg := configFor(srv.URL)
	cfg.BearerTokenFile = tokenFile
	// remote-write never retries a 401 (the spec's MUST NOT); the request
	// after the token file rotated carries the new token.
	s := fastSink(t, cfg, sinks.Settings{})
	if err := s.Send(context.Background(), oneRequest(t, s)); !errors.Is(err, sinks.ErrUnauthorized) || !sinks.IsPermanent(err) {
		t.Fatalf("Send with the old token = %v, want a permanent unauthorized error", err)
	}
	writeFile(t, tokenFile, "new-token")
	if err := s.Send(context.Background(), oneRequest(t, s)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"Bearer old-token", "Bearer new-token"}; strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Errorf("Authorization headers %q, want %q", seen, want)
	}
}

func TestBasicAuthPasswordFile(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	writeFile(t, pwFile, "pa55\n")
	got := make(chan [2]string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		got <- [2]string{u, p}
	}))
	defer srv.Close()
	cfg := configFor(srv.URL)
	cfg.BasicAuth = &BasicAuth{Username: "promfwd", PasswordFile: pwFile}
	s := fastSink(t, cfg, sinks.Settings{})
	if err := s.Send(context.Background(), oneRequest(t, s)); err != nil {
		t.Fatal(err)
	}
	if g := <-got; g != [2]string{"promfwd", "pa55"} {
		t.Errorf("basic auth %q, want promfwd/pa55", g)
	}
}

// TestSecretsNeverLeak drives every failure path with credentials in the
// token, a header and the URL's query (user info is refused by Validate), and checks errors and
// debug logs.
func TestSecretsNeverLeak(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	_ = dead.Close()

	for _, scenario := range []string{"400", "503 until cancelled", "401 until cancelled", "connection refused"} {
		t.Run(scenario, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			addr := deadAddr
			switch scenario {
			case "400":
				srv, _ := statusServer(t, 400, "bad data", 0, cancel)
				addr = srv.Listener.Addr().String()
			case "503 until cancelled":
				srv, _ := statusServer(t, 503, "busy", 2, cancel)
				addr = srv.Listener.Addr().String()
			case "401 until cancelled":
				srv, _ := statusServer(t, 401, "denied", 2, cancel)
				addr = srv.Listener.Addr().String()
			}
			core, logs := observer.New(zapcore.DebugLevel)
			cfg := configFor("http://" + addr + "/api/v1/write?api_key=q-SECRET")
			cfg.BearerToken = "tok-SECRET"
			cfg.Headers = map[string]commoncfg.Secret{"X-Api-Key": "hdr-SECRET"}
			var tries atomic.Int32
			s := fastSink(t, cfg, sinks.Settings{Logger: zap.New(core), OnRetry: func() {
				if scenario == "connection refused" && tries.Add(1) == 2 {
					cancel()
				}
			}})
			err := s.Send(ctx, oneRequest(t, s))
			if err == nil {
				t.Fatal("Send = nil, want an error")
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks a secret: %v", err)
			}
			if !strings.Contains(err.Error(), addr+"/api/v1/write") {
				t.Errorf("error %q does not name the endpoint", err)
			}
			for _, e := range logs.All() {
				line := fmt.Sprintf("%s %v", e.Message, e.ContextMap())
				if strings.Contains(line, "SECRET") {
					t.Errorf("log line leaks a secret: %s", line)
				}
			}
		})
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.URL = "http://127.0.0.1:1"
	cfg.Headers = map[string]commoncfg.Secret{"Content-Type": "text/plain"}
	if _, err := New(cfg, sinks.Settings{}); err == nil {
		t.Fatal("New accepted a config that overrides Content-Type")
	}
}
