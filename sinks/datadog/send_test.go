package datadog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/datadog/ddtest"
)

func gaugeRequest(t *testing.T, h *harness) sinks.Request {
	t.Helper()
	enc, err := h.sink.Encode([]scrape.Sample{sample("g", scrape.KindGauge, nil, labels("a", "b"), 1, h.clock.Now())})
	if err != nil || len(enc.Requests) != 1 {
		t.Fatalf("Encode: %v (%d requests)", err, len(enc.Requests))
	}
	return enc.Requests[0]
}

func TestSendStatuses(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fault     ddtest.Fault
		statuses  []int
		permanent bool
		reason    string
	}{
		{"5xx then success", ddtest.Fault{Status: 503, Count: 2}, []int{503, 503, 202}, false, ""},
		{"500 then success", ddtest.Fault{Status: 500, Count: 1}, []int{500, 202}, false, ""},
		{"429 with Retry-After", ddtest.Fault{Status: 429, Count: 1, Header: http.Header{"Retry-After": {"0"}}}, []int{429, 202}, false, ""},
		{"429 with X-RateLimit-Reset", ddtest.Fault{Status: 429, Count: 1, Header: http.Header{"X-Ratelimit-Reset": {"0"}}}, []int{429, 202}, false, ""},
		{"408 then success", ddtest.Fault{Status: 408, Count: 1}, []int{408, 202}, false, ""},
		{"403 retried, then accepted", ddtest.Fault{Status: 403, Count: 1}, []int{403, 202}, false, ""},
		{"400 dropped as permanent", ddtest.Fault{Status: 400, Count: 1, Body: `{"errors":["Payload is not in the expected format","second"]}`},
			[]int{400}, true, "Payload is not in the expected format; second"},
		{"404 is permanent", ddtest.Fault{Status: 404, Count: 1, Body: "not found"}, []int{404}, true, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil, options{})
			h.rcv.Fail(tc.fault)
			err := h.sink.Send(context.Background(), gaugeRequest(t, h))
			if got := h.statusCodes(); !slices.Equal(got, tc.statuses) {
				t.Errorf("receiver answered %v, want %v", got, tc.statuses)
			}
			if tc.permanent {
				var pe *sinks.PermanentError
				if !errors.As(err, &pe) || pe.Status != tc.fault.Status || pe.Reason != tc.reason {
					t.Fatalf("Send = %#v, want PermanentError %d %q", err, tc.fault.Status, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if h.retries != len(tc.statuses)-1 {
				t.Errorf("OnRetry called %d times, want %d", h.retries, len(tc.statuses)-1)
			}
			if healthy, _, last := h.health.Status(); !healthy || last.IsZero() {
				t.Errorf("health after success: %v %v", healthy, last)
			}
			if len(h.rcv.Series()) != 1 {
				t.Errorf("series not delivered")
			}
		})
	}
}

func TestPermanentReasonBounded(t *testing.T) {
	h := newHarness(t, nil, options{})
	h.rcv.Fail(ddtest.Fault{Status: 400, Count: 1, Body: strings.Repeat("x", 5000)})
	var pe *sinks.PermanentError
	if err := h.sink.Send(context.Background(), gaugeRequest(t, h)); !errors.As(err, &pe) || len(pe.Reason) != maxReason {
		t.Fatalf("Send = %v", err)
	}
}

func TestForbiddenUntilCancelled(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.APIKey = "wrong-key-value" }, options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	attempts := 0
	orig := h.sink.client.CheckRetry
	h.sink.client.CheckRetry = func(c context.Context, resp *http.Response, err error) (bool, error) {
		attempts++
		if attempts == 3 {
			cancel() // the operator has not fixed the key yet; shutdown
		}
		return orig(c, resp, err)
	}
	err := h.sink.Send(ctx, gaugeRequest(t, h))
	if !errors.Is(err, sinks.ErrUnauthorized) || sinks.IsPermanent(err) {
		t.Fatalf("Send = %v, want ErrUnauthorized, not permanent", err)
	}
	if healthy, reason, _ := h.health.Status(); healthy || reason != "Forbidden" {
		t.Errorf("health %v %q, want unhealthy Forbidden", healthy, reason)
	}
	if len(h.rcv.Series()) != 0 || attempts < 3 {
		t.Errorf("attempts %d, series %d", attempts, len(h.rcv.Series()))
	}
}

// TestForbiddenCancelledWhileWaiting ends ctx while the client waits to
// retry a 403, so Do returns no answer: the error must still say
// ErrUnauthorized, from the status the client recorded.
func TestForbiddenCancelledWhileWaiting(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.APIKey = "wrong-key-value" }, options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	attempts := 0
	orig := h.sink.client.CheckRetry
	h.sink.client.CheckRetry = func(c context.Context, resp *http.Response, err error) (bool, error) {
		attempts++
		retry, cerr := orig(c, resp, err)
		if attempts == 2 {
			cancel() // after the client decided to retry: it is now waiting
		}
		return retry, cerr
	}
	err := h.sink.Send(ctx, gaugeRequest(t, h))
	if !errors.Is(err, sinks.ErrUnauthorized) || !errors.Is(err, context.Canceled) || sinks.IsPermanent(err) {
		t.Fatalf("Send = %v, want ErrUnauthorized and context.Canceled, not permanent", err)
	}
	if attempts != 2 {
		t.Errorf("attempts %d, want 2", attempts)
	}
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	h := newHarness(t, nil, options{})
	req := gaugeRequest(t, h)
	h.rcv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	orig := h.sink.client.CheckRetry
	h.sink.client.CheckRetry = func(c context.Context, resp *http.Response, err error) (bool, error) {
		cancel()
		return orig(c, resp, err)
	}
	err := h.sink.Send(ctx, req)
	if err == nil || sinks.IsPermanent(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want a retryable error", err)
	}
}

func TestDeflateAccepted(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Compression = CompressionDeflate }, options{})
	if err := h.sink.Send(context.Background(), gaugeRequest(t, h)); err != nil {
		t.Fatal(err)
	}
	if rq := h.rcv.Requests(); len(rq) != 1 || rq[0].Encoding != "deflate" {
		t.Fatalf("requests %+v", rq)
	}
}

func TestAPIKeyFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dd_api_key")
	if err := os.WriteFile(path, []byte(testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *Config) { c.APIKey, c.APIKeyFile = "", path }, options{})
	if err := h.sink.Send(context.Background(), gaugeRequest(t, h)); err != nil {
		t.Fatalf("Send with the first key: %v", err)
	}
	const rotated = "rotated-key-with-another-length"
	if err := os.WriteFile(path, []byte(rotated), 0o600); err != nil {
		t.Fatal(err)
	}
	h.rcv.SetAPIKey(rotated)
	if err := h.sink.Send(context.Background(), gaugeRequest(t, h)); err != nil {
		t.Fatalf("Send after rotation: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := h.sink.Send(context.Background(), gaugeRequest(t, h)); err == nil || sinks.IsPermanent(err) {
		t.Fatalf("Send without key file = %v, want a retryable error", err)
	}
}

func TestAPIKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"empty", write("empty", " \n"), "empty"},
		{"two lines", write("two", testKey+"\n"+testKey), "several lines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The sink starts (the service must not stop for a missing
			// credential) but is unhealthy, with the reason, and no key.
			cfg := DefaultConfig()
			cfg.APIKeyFile, cfg.Host = tc.path, "h"
			set := sinks.Settings{Health: sinks.NewHealth(nil)}
			s, err := New(cfg, set)
			if err != nil {
				t.Fatalf("New = %v, want a sink that starts unhealthy", err)
			}
			defer s.Close()
			ok, reason, _ := set.Health.Status()
			if ok || !strings.Contains(reason, tc.want) || strings.Contains(reason, testKey) {
				t.Fatalf("health = %v %q, want unhealthy with a reason containing %q and no key", ok, reason, tc.want)
			}
		})
	}
}

// TestSecretNeverLeaks drives every failure path and checks that the API
// key appears in no error and no log line.
func TestSecretNeverLeaks(t *testing.T) {
	h := newHarness(t, nil, options{})
	var errs []error
	// Each send gives up at its first failed attempt, as a shutdown would.
	orig := h.sink.client.CheckRetry
	var cancel context.CancelFunc = func() {}
	h.sink.client.CheckRetry = func(c context.Context, resp *http.Response, err error) (bool, error) {
		cancel()
		return orig(c, resp, err)
	}
	send := func() {
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		errs = append(errs, h.sink.Send(ctx, gaugeRequest(t, h)))
		cancel()
	}
	// A proxy that echoes the key in its 400 answer.
	h.rcv.Fail(ddtest.Fault{Status: 400, Count: 1, Body: fmt.Sprintf(`{"errors":["bad key %s"]}`, testKey)})
	send()
	h.rcv.Fail(ddtest.Fault{Status: 413, Count: 1, Body: testKey})
	send()
	h.rcv.Fail(ddtest.Fault{Status: 403, Count: 1, Body: testKey})
	send()
	h.rcv.Fail(ddtest.Fault{Status: 503, Count: 1, Body: testKey})
	send()
	h.rcv.Close()
	send()
	cfg := h.sink.cfg
	errs = append(errs, fmt.Errorf("%v %+v %s", cfg, &cfg, cfg))

	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: no error", i)
			continue
		}
		if strings.Contains(err.Error(), testKey) {
			t.Errorf("case %d: error reveals the key: %v", i, err)
		}
	}
	if h.logs.Len() == 0 {
		t.Fatal("no log lines captured; the check below would prove nothing")
	}
	for _, e := range h.logs.All() {
		line := fmt.Sprintf("%s %v", e.Message, e.ContextMap())
		if strings.Contains(line, testKey) {
			t.Errorf("log line reveals the key: %s", line)
		}
	}
}
