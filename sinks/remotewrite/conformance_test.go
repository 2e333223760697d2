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
		Inspect: func(t *testing.T, r *http.Request, body []byte) {
			if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" {
				t.Errorf("protocol headers missing: %v", r.Header)
			}
			if got := decodeBody(t, body); len(got) != 2 {
				t.Errorf("destination decoded %d series, want 2", len(got))
			}
		},
	})
}
