package sinks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestMaxRetryAfterCapsServerDelay: a receiver answering 429 with
// Retry-After: 86400 used to park the sink for MaxServerDelay (10m) per
// attempt; the wait is now cut to MaxRetryAfter, and the cut is logged.
func TestMaxRetryAfterCapsServerDelay(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "86400")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	core, logs := observer.New(zapcore.WarnLevel)
	c, err := NewHTTPClient(ClientOptions{Logger: zap.New(core), RetryWaitMin: time.Millisecond,
		RetryWaitMax: 2 * time.Millisecond, MaxRetryAfter: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.HTTPClient.CloseIdleConnections()
	// The deadline only guards a hang: without the cap the wait is hours.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("Do = %v, want the 200 after a capped wait", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || n.Load() != 2 {
		t.Fatalf("status %d after %d requests, want 200 after 2", resp.StatusCode, n.Load())
	}
	lines := logs.FilterMessage("server asked to wait longer than max_retry_after; waiting max_retry_after").All()
	if len(lines) != 1 || lines[0].ContextMap()["retry_after"] != 24*time.Hour {
		t.Fatalf("cap log lines %v, want one with retry_after=24h", lines)
	}
}

// TestHoldBoundedPerRequest: with a tracked context a 401 streak is retried
// until MaxHold has passed since the first refusal, then it is final and
// HoldExpired says why.
func TestHoldBoundedPerRequest(t *testing.T) {
	now := time.Unix(1000, 0)
	check := tableCheck(HTTPTable, time.Minute, func() time.Time { return now })
	ctx, _ := TrackStatus(context.Background())
	resp := &http.Response{StatusCode: http.StatusUnauthorized}
	for _, step := range []struct {
		after time.Duration
		retry bool
	}{{0, true}, {30 * time.Second, true}, {29 * time.Second, true}, {time.Second, false}} {
		now = now.Add(step.after)
		if retry, _ := check(ctx, resp, nil); retry != step.retry {
			t.Fatalf("at +%v: retry = %v, want %v", step.after, retry, step.retry)
		}
	}
	if !HoldExpired(ctx) {
		t.Error("HoldExpired = false after the bound")
	}
}

func TestHTTPTable(t *testing.T) {
	for status, want := range map[int]Action{
		StatusNetworkError: Retry, 200: Deliver, 204: Deliver, 400: Reject, 401: Hold, 403: Hold,
		404: Reject, 408: Retry, 413: Split, 422: Reject, 429: Retry, 500: Retry, 501: Reject,
		502: Retry, 503: Retry, 504: Retry, 302: Reject,
	} {
		if got := HTTPTable(status); got != want {
			t.Errorf("HTTPTable(%d) = %s, want %s", status, got, want)
		}
	}
}
