package sinks

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestRetryWarningNamesURLAndReason: the "destination failing, retrying"
// line carries the endpoint (without its query, which may hold a token), the
// receiver's own reason text, and the one key for held-back lines,
// "suppressed"; the final answer still reaches the caller whole.
func TestRetryWarningNamesURLAndReason(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "{\"text\":\"Server is busy\",\n \"code\":9}")
			return
		}
		_, _ = io.WriteString(w, `{"text":"Success","code":0}`)
	}))
	defer srv.Close()
	core, logs := observer.New(zapcore.InfoLevel)
	c, _ := fastClient(t, ClientOptions{Logger: zap.New(core)})
	resp, err := c.Post(srv.URL+"/services/collector?token=s3cr3t", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"text":"Success","code":0}` {
		t.Fatalf("final body %q", body)
	}
	warns := logs.FilterMessage("destination failing, retrying").All()
	if len(warns) != 1 {
		t.Fatalf("%d warnings, want 1", len(warns))
	}
	f := warns[0].ContextMap()
	if f["url"] != srv.URL+"/services/collector" {
		t.Errorf("url = %v, want %s/services/collector (no query)", f["url"], srv.URL)
	}
	if f["reason"] != `{"text":"Server is busy", "code":9}` {
		t.Errorf("reason = %q, want the receiver's text on one line", f["reason"])
	}
	if _, ok := f["suppressed"]; !ok {
		t.Errorf("no suppressed key: %v", f)
	}
	if f["status"] != int64(503) {
		t.Errorf("status = %v", f["status"])
	}
}

// TestAttemptMetrics: every HTTP attempt is timed and its body bytes counted
// per sink (promfwd_sink_request_duration_seconds, _sent_bytes_total).
func TestAttemptMetrics(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	reg := prometheus.NewRegistry()
	set := NewMetrics(reg).Settings("rw", nil, "ua")
	c, _ := fastClient(t, ClientOptions{OnAttempt: set.OnAttempt})
	resp, err := c.Post(srv.URL, "application/x-protobuf", strings.NewReader("0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := metricValue(t, reg, "promfwd_sink_sent_bytes_total", "sink", "rw"); got != 20 {
		t.Errorf("sent_bytes_total = %v, want 20 (two attempts of 10 bytes)", got)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var count uint64
	for _, mf := range mfs {
		if mf.GetName() == "promfwd_sink_request_duration_seconds" {
			count = mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	if count != 2 {
		t.Errorf("request_duration_seconds count = %d, want 2", count)
	}
}
