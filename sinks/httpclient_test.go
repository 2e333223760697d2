package sinks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func answer(status int, header ...string) *http.Response {
	r := &http.Response{StatusCode: status, Header: http.Header{}}
	for i := 0; i < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

func TestBackoffBounds(t *testing.T) {
	tests := []struct {
		name    string
		lo, hi  time.Duration
		attempt int
		resp    *http.Response
		min     time.Duration
		max     time.Duration
	}{
		{"first attempt", time.Second, time.Minute, 0, nil, 500 * time.Millisecond, time.Second},
		{"grows", time.Second, time.Minute, 3, nil, 4 * time.Second, 8 * time.Second},
		{"capped", time.Second, time.Minute, 10, nil, 30 * time.Second, time.Minute},
		{"huge attempt", time.Second, time.Minute, math.MaxInt32, nil, 30 * time.Second, time.Minute},
		{"no overflow near MaxInt64", time.Hour, math.MaxInt64, 80, nil, math.MaxInt64 / 2, math.MaxInt64},
		{"zero min", 0, time.Minute, 5, nil, 0, 0},
		{"negative bounds", -time.Second, -time.Second, 1, nil, 0, 0},
		{"min above max", time.Minute, time.Second, 0, nil, 500 * time.Millisecond, time.Second},
		{"Retry-After raises", time.Second, time.Minute, 0, answer(429, "Retry-After", "120"), 120 * time.Second, 120 * time.Second},
		{"Retry-After below backoff ignored", time.Minute, time.Minute, 0, answer(503, "Retry-After", "1"), 30 * time.Second, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 100 {
				if d := Backoff(tc.lo, tc.hi, tc.attempt, tc.resp); d < tc.min || d > tc.max {
					t.Fatalf("Backoff = %v, want in [%v, %v]", d, tc.min, tc.max)
				}
			}
		})
	}
}

func TestServerDelay(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		resp *http.Response
		want time.Duration
	}{
		{"no answer", nil, 0},
		{"seconds on 429", answer(429, "Retry-After", "7"), 7 * time.Second},
		{"fraction", answer(429, "Retry-After", "1.5"), 1500 * time.Millisecond},
		{"seconds on 503", answer(503, "Retry-After", "3"), 3 * time.Second},
		{"ignored on 500", answer(500, "Retry-After", "3"), 0},
		{"HTTP date", answer(429, "Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), 90 * time.Second},
		{"date in the past", answer(429, "Retry-After", now.Add(-time.Hour).Format(http.TimeFormat)), 0},
		{"capped", answer(429, "Retry-After", "86400"), MaxServerDelay},
		{"huge", answer(429, "Retry-After", "1e300"), MaxServerDelay},
		{"infinite", answer(429, "Retry-After", "+Inf"), MaxServerDelay},
		{"NaN falls back", answer(429, "Retry-After", "NaN", "X-RateLimit-Reset", "4"), 4 * time.Second},
		{"negative", answer(429, "Retry-After", "-5"), 0},
		{"garbage falls back", answer(429, "Retry-After", "soon", "X-RateLimit-Reset", "9"), 9 * time.Second},
		{"rate limit reset", answer(429, "X-RateLimit-Reset", "12"), 12 * time.Second},
		{"Retry-After wins", answer(429, "Retry-After", "2", "X-RateLimit-Reset", "12"), 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ServerDelay(tc.resp, now); got != tc.want {
				t.Fatalf("ServerDelay = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDefaultCheckRetry(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bg, _ := TrackStatus(context.Background()) // a Hold is bounded per tracked request
	tests := []struct {
		ctx     context.Context
		resp    *http.Response
		err     error
		retry   bool
		wantErr error
	}{
		{bg, nil, errors.New("connection refused"), true, nil},
		{bg, answer(200), nil, false, nil},
		{bg, answer(204), nil, false, nil},
		{bg, answer(400), nil, false, nil},
		{bg, answer(404), nil, false, nil},
		{bg, answer(413), nil, false, nil},
		{bg, answer(401), nil, true, nil},
		{bg, answer(403), nil, true, nil},
		{bg, answer(408), nil, true, nil},
		{bg, answer(429), nil, true, nil},
		{bg, answer(500), nil, true, nil},
		{bg, answer(501), nil, false, nil}, // HTTPTable: Reject, never retried by the runner either
		{bg, answer(503), nil, true, nil},
		{bg, answer(504), nil, true, nil},
		{context.Background(), answer(401), nil, false, nil}, // untracked: the hold cannot be bounded
		{cancelled, answer(503), nil, false, context.Canceled},
		{cancelled, nil, errors.New("x"), false, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d_%v_%v", statusOf(tc.resp), tc.err, tc.ctx.Err()), func(t *testing.T) {
			retry, err := DefaultCheckRetry(tc.ctx, tc.resp, tc.err)
			if retry != tc.retry || !errors.Is(err, tc.wantErr) {
				t.Fatalf("= %v, %v; want %v, %v", retry, err, tc.retry, tc.wantErr)
			}
		})
	}
}

func TestHealthObserve(t *testing.T) {
	at := time.Unix(100, 0)
	h := NewHealth(func() time.Time { return at })
	steps := []struct {
		resp        *http.Response
		err         error
		healthy     bool
		reason      string
		lastSuccess time.Time
	}{
		{answer(500), nil, true, "", time.Time{}},
		{answer(401), nil, false, "Unauthorized", time.Time{}},
		{nil, errors.New("timeout"), false, "Unauthorized", time.Time{}},
		{answer(503), nil, false, "Unauthorized", time.Time{}},
		{answer(202), nil, true, "", at},
		{answer(403), nil, false, "Forbidden", at},
	}
	for i, s := range steps {
		h.Observe(s.resp, s.err)
		ok, reason, last := h.Status()
		if ok != s.healthy || reason != s.reason || !last.Equal(s.lastSuccess) {
			t.Fatalf("step %d: Status = %v %q %v, want %v %q %v", i, ok, reason, last, s.healthy, s.reason, s.lastSuccess)
		}
	}
}

// fastClient builds a client whose backoff is recorded and then shortened.
func fastClient(t *testing.T, o ClientOptions) (*retryablehttp.Client, *[]time.Duration) {
	t.Helper()
	var waits []time.Duration
	o.Backoff = func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
		waits = append(waits, Backoff(lo, hi, attempt, resp))
		return time.Millisecond
	}
	c, err := NewHTTPClient(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.HTTPClient.CloseIdleConnections)
	return c, &waits
}

func TestHTTPClientRetriesObservesHealth(t *testing.T) {
	h := NewHealth(nil)
	statuses := []int{503, 401, 429, 200}
	var n atomic.Int32
	var mu sync.Mutex
	var healthAtRequest []bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		ok, _, _ := h.Status()
		mu.Lock()
		healthAtRequest = append(healthAtRequest, ok)
		mu.Unlock()
		st := statuses[n.Add(1)-1]
		if st == 429 {
			w.Header().Set("Retry-After", "42")
		}
		w.WriteHeader(st)
	}))
	defer srv.Close()
	var retries atomic.Int32
	c, waits := fastClient(t, ClientOptions{Health: h, OnRetry: func() { retries.Add(1) }})
	ctx, _ := TrackStatus(context.Background())
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || n.Load() != 4 || retries.Load() != 3 {
		t.Fatalf("status %d after %d requests and %d retries; want 200, 4, 3", resp.StatusCode, n.Load(), retries.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []bool{true, true, false, false}; fmt.Sprint(healthAtRequest) != fmt.Sprint(want) {
		t.Fatalf("health seen by the server %v, want %v", healthAtRequest, want)
	}
	if ok, _, _ := h.Status(); !ok {
		t.Fatal("still unhealthy after a 2xx")
	}
	if len(*waits) != 3 || (*waits)[2] != 42*time.Second {
		t.Fatalf("backoffs %v, want the third to honour Retry-After: 42", *waits)
	}
}

func TestHTTPClientPassesFinalAnswerThrough(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"text":"Invalid data format","code":6}`)
	}))
	defer srv.Close()
	c, _ := fastClient(t, ClientOptions{})
	resp, err := c.Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 400 || n.Load() != 1 {
		t.Fatalf("status %d after %d requests, want 400 after 1", resp.StatusCode, n.Load())
	}
}

func TestHTTPClientFailureLogsAreRateLimitedAndRedacted(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/collector?token=s3cr3t-t0ken"
	srv.Close() // every attempt now fails with connection refused
	core, logs := observer.New(zapcore.DebugLevel)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	attempts := 0
	c, err := NewHTTPClient(ClientOptions{Logger: zap.New(core), Backoff: func(time.Duration, time.Duration, int, *http.Response) time.Duration {
		if attempts++; attempts == 5 {
			cancel()
		}
		return time.Millisecond
	}})
	if err != nil {
		t.Fatal(err)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Do = %v, want context.Canceled", err)
	}
	if n := logs.FilterMessage("destination failing, retrying").Len(); n != 1 {
		t.Errorf("%d warn lines for 5 failures within a minute, want 1", n)
	}
	if n := logs.FilterMessage("attempt failed, will retry").Len(); n != 5 {
		t.Errorf("%d debug lines, want 5", n)
	}
	for _, e := range logs.All() {
		if line := fmt.Sprint(e.Message, e.ContextMap()); strings.Contains(line, "s3cr3t") {
			t.Fatalf("log line leaks the URL token: %s", line)
		}
	}
}

func TestNewHTTPClientRejectsBadTLS(t *testing.T) {
	o := ClientOptions{}
	o.TLS.CAFile = t.TempDir() + "/missing-ca.pem"
	if _, err := NewHTTPClient(o); err == nil || !strings.Contains(err.Error(), "sinks: tls config") {
		t.Fatalf("NewHTTPClient = %v, want a wrapped TLS error", err)
	}
}
