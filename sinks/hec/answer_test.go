package hec

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/promfwd/promfwd/sinks"
)

// TestSuccessNeedsCodeZero: a 2xx answer is success only when it is HEC's
// code 0 (issue 21.5). Other codes are classified by HEC's code table and
// an answer that is not HEC JSON is retried, never counted as delivered.
func TestSuccessNeedsCodeZero(t *testing.T) {
	type want int
	const (
		delivered want = iota
		retryable
		permanent
		unauthorized
	)
	for _, tc := range []struct {
		name string
		body string
		want want
	}{
		{"code 0", `{"text":"Success","code":0}`, delivered},
		{"code 6 invalid data", `{"text":"Invalid data format","code":6,"invalid-event-number":3}`, permanent},
		{"code 7 incorrect index", `{"text":"Incorrect index","code":7}`, permanent},
		{"code 9 busy", `{"text":"Server is busy","code":9}`, retryable},
		{"code 8 internal", `{"text":"Internal server error","code":8}`, retryable},
		{"code 18 unhealthy", `{"text":"HEC is unhealthy","code":18}`, retryable},
		{"code 4 invalid token", `{"text":"Invalid token","code":4}`, unauthorized},
		{"garbage body", `<html>proxy says hi</html>`, retryable},
		{"empty body", ``, retryable},
		{"JSON without code", `{"text":"Success"}`, retryable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			s, _, _ := newTestSink(t, testConfig(srv.URL))
			enc, err := s.Encode(fixtureSamples())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err = s.Send(ctx, enc.Requests[0])
			var got want
			switch {
			case err == nil:
				got = delivered
			case errors.Is(err, sinks.ErrUnauthorized):
				got = unauthorized
			case sinks.IsPermanent(err):
				got = permanent
			default:
				got = retryable
			}
			if got != tc.want {
				t.Fatalf("Send = %v (class %d), want class %d", err, got, tc.want)
			}
		})
	}
}
