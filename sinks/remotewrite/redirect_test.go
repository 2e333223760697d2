package remotewrite

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	commoncfg "github.com/prometheus/common/config"

	"github.com/promfwd/promfwd/sinks"
)

// TestRedirectNotFollowed: a 307 from the receiver must not carry the
// custom headers or the bearer token to the host it names, and the request
// is a permanent failure (never counted as delivered).
func TestRedirectNotFollowed(t *testing.T) {
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			var second atomic.Int32
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				second.Add(1)
			}))
			defer other.Close()
			first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/api/v1/write", code)
			}))
			defer first.Close()
			cfg := configFor(first.URL + "/api/v1/write")
			cfg.Headers = map[string]commoncfg.Secret{"X-Api-Key": "hdr-SECRET"}
			cfg.BearerToken = "tok-SECRET"
			s := fastSink(t, cfg, sinks.Settings{})
			err := s.Send(context.Background(), oneRequest(t, s))
			var pe *sinks.PermanentError
			if !errors.As(err, &pe) || pe.Status != code {
				t.Fatalf("Send = %v, want a permanent %d failure", err, code)
			}
			if n := second.Load(); n != 0 {
				t.Fatalf("the redirect target received %d requests, want none", n)
			}
		})
	}
}
