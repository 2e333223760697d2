package hec

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	commoncfg "github.com/prometheus/common/config"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/sinktest"
)

// hecCodes is the HEC code the conformance destination sends per status.
var hecCodes = map[int]int{200: 0, 400: 6, 401: 2, 403: 4, 500: 8, 503: 9}

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T, url, secret string, set sinks.Settings, tune func(*sinks.ClientOptions)) sinks.Sink {
			cfg := testConfig(url)
			cfg.Token = commoncfg.Secret(secret)
			s, err := New(cfg, set, withTune(tune))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		Answer: func(w http.ResponseWriter, status int) {
			a := map[string]any{"text": http.StatusText(status)}
			if c, ok := hecCodes[status]; ok {
				a["code"] = c
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(a)
		},
		Samples: []scrape.Sample{
			{Name: "up", Value: 1, Kind: scrape.KindGauge, TimestampMs: testTS},
			{Name: "temp", Value: 20, Kind: scrape.KindGauge, TimestampMs: testTS},
		},
		Table:  Classify,
		Expect: retryTable,
		Inspect: func(t *testing.T, r *http.Request, body []byte) {
			if r.URL.Path != PathEvent || !strings.HasPrefix(r.Header.Get("Authorization"), "Splunk ") ||
				r.Header.Get("X-Splunk-Request-Channel") == "" || r.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("unexpected request %s %s %v", r.Method, r.URL.Path, r.Header)
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
