package datadog

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/sinktest"
)

// TestConformance runs the shared sink contract kit against the sink.
func TestConformance(t *testing.T) {
	now := time.Now()
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T, url, secret string, set sinks.Settings, tune func(*sinks.ClientOptions)) sinks.Sink {
			cfg := DefaultConfig()
			cfg.URL, cfg.APIKey, cfg.Host = url, commoncfg.Secret(secret), "conformance"
			s, err := newSink(cfg, set, options{tune: tune})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		Answer: func(w http.ResponseWriter, status int) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			errs := []string{}
			if status >= 400 {
				errs = append(errs, http.StatusText(status))
			}
			_ = json.NewEncoder(w).Encode(map[string][]string{"errors": errs})
		},
		Samples: []scrape.Sample{
			sample("up", scrape.KindGauge, nil, labels("job", "x"), 1, now),
			sample("temp", scrape.KindGauge, nil, nil, 21.5, now),
		},
		SuccessStatus: http.StatusAccepted,
		Table:         Classify,
		Expect:        retryTable,
		Inspect: func(t *testing.T, r *http.Request, _ []byte) {
			if r.URL.Path != seriesPath || r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("DD-API-KEY") == "" {
				t.Errorf("unexpected request %s %s %v", r.Method, r.URL.Path, r.Header.Get("Content-Encoding"))
			}
		},
	})
}

// retryTable is the README's retry table for this sink.
var retryTable = map[int]sinks.Action{
	200: sinks.Deliver, 400: sinks.Reject, 401: sinks.Hold, 403: sinks.Hold, 404: sinks.Reject,
	408: sinks.Retry, 413: sinks.Split, 429: sinks.Retry, 500: sinks.Retry, 501: sinks.Reject,
	502: sinks.Retry, 503: sinks.Retry, 504: sinks.Retry, sinks.StatusNetworkError: sinks.Retry,
}
