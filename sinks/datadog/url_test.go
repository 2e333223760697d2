package datadog

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/promfwd/promfwd/sinks"
)

// TestURLWithQuery: the API path joins the configured URL's path, before its
// query string, and the query's values never reach a log line (the debug
// line "datadog sink ready" printed them).
func TestURLWithQuery(t *testing.T) {
	for _, tc := range []struct{ suffix, wantPath string }{
		{"/proxy?api_key=q-SECRET", "/proxy/api/v2/series"},
		{"/proxy/?api_key=q-SECRET", "/proxy/api/v2/series"},
		{"?api_key=q-SECRET", "/api/v2/series"},
	} {
		t.Run(tc.suffix, func(t *testing.T) {
			got := make(chan string, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got <- r.URL.Path + " " + r.URL.RawQuery
				w.WriteHeader(http.StatusAccepted)
			}))
			defer srv.Close()
			cfg := DefaultConfig()
			cfg.URL = srv.URL + tc.suffix
			cfg.APIKey = testKey
			cfg.Host = "h"
			core, logs := observer.New(zapcore.DebugLevel)
			s, err := newSink(cfg, sinks.Settings{Logger: zap.New(core)}, options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.send(context.Background(), []byte("{}")); err != nil {
				t.Fatalf("send: %v", err)
			}
			if want := tc.wantPath + " api_key=q-SECRET"; <-got != want {
				t.Errorf("request went to a different path or query, want %q", want)
			}
			if logs.FilterMessage("datadog sink ready").Len() != 1 {
				t.Fatalf("no ready line: %v", logs.All())
			}
			for _, e := range logs.All() {
				if line := fmt.Sprintf("%s %v", e.Message, e.ContextMap()); strings.Contains(line, "SECRET") {
					t.Errorf("log line leaks the query: %s", line)
				}
			}
		})
	}
}
