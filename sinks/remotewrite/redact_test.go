package remotewrite

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commoncfg "github.com/prometheus/common/config"

	"github.com/promfwd/promfwd/sinks"
)

// TestRejectionBodyRedacted: a receiver whose 4xx answer echoes the
// request's headers (Authorization, custom headers) must not bring the
// credentials into the error the runner logs.
func TestRejectionBodyRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_ = r.Header.Write(w)
	}))
	defer srv.Close()
	dir := t.TempDir()
	file := func(v string) string {
		p := filepath.Join(dir, v)
		if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		set  func(*Config)
	}{
		{"bearer_token", func(c *Config) { c.BearerToken = "tok-SECRET" }},
		{"bearer_token_file", func(c *Config) { c.BearerTokenFile = file("tokfile-SECRET") }},
		{"basic_auth password", func(c *Config) { c.BasicAuth = &BasicAuth{Username: "u", Password: "pw-SECRET"} }},
		{"basic_auth password_file", func(c *Config) {
			c.BasicAuth = &BasicAuth{Username: "u", PasswordFile: file("pwfile-SECRET")}
		}},
		{"headers", func(c *Config) { c.Headers = map[string]commoncfg.Secret{"X-Api-Key": "hdr-SECRET"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := configFor(srv.URL + "/api/v1/write")
			tc.set(&cfg)
			s := fastSink(t, cfg, sinks.Settings{})
			err := s.Send(context.Background(), oneRequest(t, s))
			var pe *sinks.PermanentError
			if !errors.As(err, &pe) {
				t.Fatalf("Send = %v, want a permanent error", err)
			}
			if !strings.Contains(pe.Reason, "<secret>") {
				t.Errorf("reason %q: want the echoed credential masked", pe.Reason)
			}
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(pe.Reason, "SECRET") {
				t.Errorf("rejection leaks a secret: %v", err)
			}
			// The basic-auth pair travels base64-encoded.
			if tc.name == "basic_auth password" && strings.Contains(pe.Reason, basicPair("u", "pw-SECRET")) {
				t.Errorf("rejection leaks the encoded basic-auth pair: %v", pe.Reason)
			}
		})
	}
}
