package remotewrite

import (
	"net/http"

	commoncfg "github.com/prometheus/common/config"
	"testing"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/sinktest"
)

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T, url, secret string, set sinks.Settings, tune func(*sinks.ClientOptions)) sinks.Sink {
			cfg := configFor(url + "/api/v1/write")
			cfg.BearerToken = commoncfg.Secret(secret)
			s, err := newSink(cfg, set, tune)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		// Prometheus answers in plain text (http.Error).
		Answer: func(w http.ResponseWriter, status int) {
			http.Error(w, http.StatusText(status), status)
		},
		Samples:       []scrape.Sample{smp("up", 1700000000000, 1, "job", "a"), smp("temp", 1700000000000, 20)},
		SuccessStatus: http.StatusNoContent,
		Table:         Classify,
		Expect:        retryTable,
		Inspect: func(t *testing.T, r *http.Request, body []byte) {
			if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" {
				t.Errorf("protocol headers missing: %v", r.Header)
			}
			// Two series, or one after a split.
			if got := decodeBody(t, body); len(got) != 2 && len(got) != 1 {
				t.Errorf("destination decoded %d series, want 2 (or 1, a split half)", len(got))
			}
		},
	})
}

// retryTable is the README's retry table for remote-write: the spec's
// MUST retry 5xx and 429, MUST NOT retry other 4xx.
var retryTable = map[int]sinks.Action{
	200: sinks.Deliver, 400: sinks.Reject, 401: sinks.Reject, 403: sinks.Reject, 404: sinks.Reject,
	408: sinks.Reject, 413: sinks.Split, 429: sinks.Retry, 500: sinks.Retry, 501: sinks.Retry,
	502: sinks.Retry, 503: sinks.Retry, 504: sinks.Retry, sinks.StatusNetworkError: sinks.Retry,
}
