package forwarder

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/klauspost/compress/snappy"
)

// TestDedupeForgetsDroppedRequests: the receiver refuses the first request
// as a whole (a 400 that names no sample). Dedupe had recorded its values
// as sent when the request was built, so with resend_after: 1h the
// unchanged series never reached the receiver. A dropped request now
// resets the sink's dedupe and the next scrape sends them.
func TestDedupeForgetsDroppedRequests(t *testing.T) {
	t.Parallel()
	target := newConstTarget(t, false, dedupeBody)
	var mu sync.Mutex
	requests, accepted := 0, []rwSample(nil)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			body, err = snappy.Decode(nil, body)
		}
		var samples []rwSample
		if err == nil {
			samples, err = decodeWriteRequest(body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		requests++
		if requests == 1 {
			http.Error(w, "invalid label set", http.StatusBadRequest)
			return
		}
		accepted = append(accepted, samples...)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	r := runFwd(t, fmt.Sprintf(`
shutdown_timeout: 10s
server:
  listen: ""
dedupe:
  enabled: true
  resend_after: 1h
sources:
  - name: c
    url: %s/metrics
    interval: 1s
sinks:
  - name: rw
    type: remote_write
    url: %s/api/v1/write
    flush_interval: 100ms
`, target.URL, rcv.URL))
	awaitCond(t, "the unchanged series delivered after the first request was dropped", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range accepted {
			if s.labels["__name__"] == "d_value" && s.labels["k"] == "fixed" {
				return true
			}
		}
		return false
	})
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
}
