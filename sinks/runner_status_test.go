package sinks

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRunnerConditionAndCounts: the status pages read the last permanent
// rejection with the receiver's message (URL credentials removed), the
// backoff of a failing Send until a delivery succeeds, and the counts sent
// and dropped by reason.
func TestRunnerConditionAndCounts(t *testing.T) {
	fs := newFakeSink()
	fails := make(chan error, 1)
	fs.send = func(_ context.Context, req Request) error {
		if string(req.Body) == "bad0,bad1" {
			return &PermanentError{Status: 400, Reason: "invalid event at index 1"}
		}
		select {
		case err := <-fails:
			return err
		default:
			return nil
		}
	}
	r := startRunner(t, fs, RunnerConfig{MaxBatchSamples: 2, RetryWaitMin: time.Hour, RetryWaitMax: time.Hour})
	if c := r.Condition(); !c.LastReject.IsZero() || c.Backoff != 0 {
		t.Fatalf("fresh runner condition %+v", c)
	}
	r.Submit(gauges("bad", 2))
	awaitRunner(t, "the rejection", func() bool { return r.Condition().RejectMsg != "" })
	if c := r.Condition(); !strings.Contains(c.RejectMsg, "invalid event at index 1") || c.LastReject.IsZero() {
		t.Errorf("rejection %+v", c)
	}

	fails <- &url.Error{Op: "Post", URL: "http://u:pw-SECRET@hec/services/collector?token=q-SECRET", Err: errors.New("connection refused")}
	r.Submit(gauges("ok", 2))
	awaitRunner(t, "the backoff", func() bool { return r.Condition().Backoff > 0 })
	c := r.Condition()
	if c.Backoff <= 0 || c.Backoff > time.Hour || c.FailError != "connection refused" {
		t.Errorf("failing condition %+v: want a backoff up to 1h and the error without its URL", c)
	}
	// The retry succeeds once its timer fires (advanced until it has).
	awaitRunner(t, "the retry", func() bool {
		r.clock.Advance(time.Hour)
		select {
		case <-fs.delivered:
			return true
		default:
			return false
		}
	})
	awaitRunner(t, "the backoff to clear", func() bool { return r.Condition().Backoff == 0 })

	sent, dropped := r.Counts()
	if sent != 2 || dropped[DropRejected] != 2 || len(dropped) < 8 {
		t.Errorf("counts: sent %v, dropped %v; want 2 sent, 2 rejected and every reason listed", sent, dropped)
	}
}

// TestHealthAttempts: failures count up from the first one, a 429/503
// records its Retry-After, a 2xx resets the streak, and transport errors
// lose their URL.
func TestHealthAttempts(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := NewHealth(func() time.Time { return now })
	answer := func(status int, hdr http.Header) *http.Response {
		return &http.Response{StatusCode: status, Header: hdr}
	}
	h.Observe(nil, &url.Error{Op: "Post", URL: "http://hec/?token=q-SECRET", Err: errors.New("connection refused")})
	now = now.Add(time.Second)
	h.Observe(answer(http.StatusServiceUnavailable, http.Header{"Retry-After": {"30"}}), nil)
	a := h.Attempts()
	if a.ConsecutiveFailures != 2 || a.FailingSince != time.Unix(1_700_000_000, 0) || a.LastStatus != 503 ||
		a.LastRetryAfter != 30*time.Second || a.LastError != "Service Unavailable" {
		t.Errorf("after two failures: %+v", a)
	}
	h.Observe(nil, &url.Error{Op: "Post", URL: "http://hec/?token=q-SECRET", Err: errors.New("connection refused")})
	if a := h.Attempts(); strings.Contains(a.LastError, "SECRET") || a.LastError != "connection refused" {
		t.Errorf("transport error shown as %q", a.LastError)
	}
	h.Observe(answer(http.StatusOK, nil), nil)
	if a := h.Attempts(); a.ConsecutiveFailures != 0 || !a.FailingSince.IsZero() || a.LastError != "" || a.LastStatus != 200 {
		t.Errorf("after a success: %+v", a)
	}
}

func awaitRunner(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHealthTracksClientBackoff: while the HTTP client waits to retry, the
// wait in force is visible; a success clears it.
func TestHealthTracksClientBackoff(t *testing.T) {
	second, release := make(chan struct{}), make(chan struct{})
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		close(second)
		<-release
	}))
	defer srv.Close()
	h := NewHealth(nil)
	c, err := NewHTTPClient(ClientOptions{Health: h, RetryWaitMin: 20 * time.Millisecond, RetryWaitMax: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := c.Get(srv.URL)
		if err == nil {
			_ = resp.Body.Close()
		}
		done <- err
	}()
	<-second
	if a := h.Attempts(); a.Backoff <= 0 || a.Backoff > 40*time.Millisecond || a.LastStatus != 503 {
		t.Errorf("while retrying: %+v; want the backoff (0-40ms) and the 503", a)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if a := h.Attempts(); a.Backoff != 0 || a.ConsecutiveFailures != 0 {
		t.Errorf("after the success: %+v", a)
	}
}
