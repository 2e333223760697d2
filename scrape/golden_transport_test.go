package scrape

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenServe serves body with contentType at /metrics, over TCP on
// 127.0.0.1 or over a unix socket; it returns the URL to scrape.
func goldenServe(t *testing.T, transport, contentType string, body []byte) string {
	t.Helper()
	var (
		ln  net.Listener
		err error
	)
	if transport == "unix" {
		ln, err = net.Listen("unix", filepath.Join(t.TempDir(), "m.sock"))
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	})}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	if transport == "unix" {
		return "unix://" + ln.Addr().String()
	}
	return "http://" + ln.Addr().String() + "/metrics"
}

// TestScrapeGolden scrapes each golden exposition (text; OpenMetrics with
// # EOF, _total, _created and exemplars; protobuf) from a real server over
// HTTP on 127.0.0.1 and over a unix socket, with content negotiation and
// the format taken from the answer's Content-Type, and compares the samples
// with the same golden files the parser test uses.
func TestScrapeGolden(t *testing.T) {
	cases := []struct {
		input, contentType string
	}{
		{"text_basic.prom", "text/plain; version=0.0.4; charset=utf-8"},
		{"openmetrics_full.om", "application/openmetrics-text; version=1.0.0; charset=utf-8"},
		{"protobuf_mixed.pb", "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"},
	}
	for _, c := range cases {
		for _, transport := range []string{"tcp", "unix"} {
			t.Run(c.input+"/"+transport, func(t *testing.T) {
				in := filepath.Join("testdata", "parse", c.input)
				body, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				want, err := os.ReadFile(strings.TrimSuffix(in, filepath.Ext(in)) + ".golden")
				if err != nil {
					t.Fatal(err)
				}
				url := goldenServe(t, transport, c.contentType, body)
				tg := tgtNew(t, url, func(cfg *TargetConfig) {
					cfg.TargetLabels = Labels{{Name: "job", Value: "golden"}}
				})
				res := tg.Scrape(context.Background(), tgtNow)
				if res.Err != nil {
					t.Fatalf("Scrape %s: %v", url, res.Err)
				}
				ptCheck(t, res.Samples)
				got := []byte(strings.Join(ptRenderAll(res.Samples), "\n") + "\n")
				if !bytes.Equal(got, want) {
					t.Errorf("scraped %s over %s differs from the golden file:\n%s", c.input, transport, got)
				}
			})
		}
	}
}
