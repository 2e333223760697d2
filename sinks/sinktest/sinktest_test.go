package sinktest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hashicorp/go-retryablehttp"
	"go.uber.org/goleak"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// refSink is a minimal HTTP sink written the way the real ones must be; the
// flaw field breaks one rule so the kit can be shown to catch it.
type refSink struct {
	url, secret string
	client      *retryablehttp.Client
	flaw        string
}

func newRefSink(t *testing.T, url, secret string, set sinks.Settings, tune func(*sinks.ClientOptions), flaw string) sinks.Sink {
	o := sinks.ClientOptions{Logger: set.Logger, Health: set.Health, OnRetry: set.OnRetry, Classify: refTable}
	if flaw == "retry-400" {
		o.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			if err == nil && resp.StatusCode == http.StatusBadRequest {
				return true, nil
			}
			return sinks.NewCheckRetry(refTable, o.MaxHold)(ctx, resp, err)
		}
	}
	tune(&o)
	c, err := sinks.NewHTTPClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return &refSink{url: url, secret: secret, client: c, flaw: flaw}
}

func (s *refSink) Encode(samples []scrape.Sample) (sinks.Encoded, error) {
	var b bytes.Buffer
	for _, smp := range samples {
		fmt.Fprintf(&b, "%s %g\n", smp.Name, smp.Value)
	}
	return sinks.Encoded{Requests: []sinks.Request{{Body: b.Bytes(), Samples: len(samples)}}}, nil
}

func (s *refSink) Send(ctx context.Context, req sinks.Request) error {
	ctx, _ = sinks.TrackStatus(ctx)
	r, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, s.url, req.Body)
	if err != nil {
		return fmt.Errorf("ref: build request: %w", err)
	}
	r.Header.Set("Authorization", "Bearer "+s.secret)
	resp, err := s.client.Do(r)
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		if s.flaw == "leak" {
			return fmt.Errorf("ref: post with token %s: %w", s.secret, err)
		}
		return fmt.Errorf("ref: post: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if s.flaw == "501-retryable" && resp.StatusCode == 501 {
		// The old two-layer bug: the client gave up, the runner retries.
		return fmt.Errorf("ref: status %d", resp.StatusCode)
	}
	switch refTable(resp.StatusCode) {
	case sinks.Deliver:
		return nil
	case sinks.Hold: // final only after MaxHold
		return &sinks.PermanentError{Status: resp.StatusCode, Reason: "held too long",
			Err: fmt.Errorf("ref: status %d: %w", resp.StatusCode, sinks.ErrUnauthorized)}
	case sinks.Reject, sinks.Split:
		return &sinks.PermanentError{Status: resp.StatusCode, Reason: strings.TrimSpace(string(body))}
	}
	return fmt.Errorf("ref: status %d", resp.StatusCode)
}

// refTable is sinks.HTTPTable without splitting (the reference sink
// cannot split a request).
func refTable(status int) sinks.Action {
	if a := sinks.HTTPTable(status); a != sinks.Split {
		return a
	}
	return sinks.Reject
}

// refExpect is refTable as the README would document it.
var refExpect = map[int]sinks.Action{
	200: sinks.Deliver, 400: sinks.Reject, 401: sinks.Hold, 403: sinks.Hold, 404: sinks.Reject,
	408: sinks.Retry, 413: sinks.Reject, 429: sinks.Retry, 500: sinks.Retry, 501: sinks.Reject,
	502: sinks.Retry, 503: sinks.Retry, 504: sinks.Retry, sinks.StatusNetworkError: sinks.Retry,
}

func (s *refSink) Close() error {
	s.client.HTTPClient.CloseIdleConnections()
	return nil
}

func refHarness(flaw string) Harness {
	return Harness{
		New: func(t *testing.T, url, secret string, set sinks.Settings, tune func(*sinks.ClientOptions)) sinks.Sink {
			return newRefSink(t, url, secret, set, tune, flaw)
		},
		Answer: func(w http.ResponseWriter, status int) {
			w.WriteHeader(status)
			fmt.Fprintf(w, "answer %d", status)
		},
		Samples: []scrape.Sample{{Name: "up", Value: 1, Kind: scrape.KindGauge}},
		Table:   refTable,
		Expect:  refExpect,
		Inspect: func(t *testing.T, r *http.Request, body []byte) {
			if r.Method != http.MethodPost || !strings.HasPrefix(string(body), "up 1") {
				t.Errorf("unexpected request %s %q", r.Method, body)
			}
		},
	}
}

func TestReferenceSinkConforms(t *testing.T) {
	Run(t, refHarness(""))
}

// TestFlawedSink runs the kit on a flawed sink; only meaningful inside the
// subprocess started by TestKitCatchesFlaws.
func TestFlawedSink(t *testing.T) {
	flaw := os.Getenv("SINKTEST_FLAW")
	if flaw == "" {
		t.Skip("runs only as a subprocess of TestKitCatchesFlaws")
	}
	Run(t, refHarness(flaw))
}

func TestKitCatchesFlaws(t *testing.T) {
	tests := []struct {
		flaw, want string
	}{
		{"leak", "Send error leaks the secret"},
		{"retry-400", "want a *sinks.PermanentError"},
		{"501-retryable", "Send after 501 = ref: status 501, want a *sinks.PermanentError"},
	}
	for _, tc := range tests {
		t.Run(tc.flaw, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFlawedSink$", "-test.count=1")
			cmd.Env = append(os.Environ(), "SINKTEST_FLAW="+tc.flaw)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the kit passed a sink with flaw %q:\n%s", tc.flaw, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("kit output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
