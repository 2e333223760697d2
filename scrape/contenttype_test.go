package scrape

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestScrapeContentType follows Prometheus' media-type rules over real
// HTTP: exposition types and a blank header parse as usual; a foreign type
// (a login page's text/html, an API's JSON) whose body is not an
// exposition fails as a ContentTypeError naming the type; a mislabelled but
// valid text exposition is still accepted (Prometheus 2, and Prometheus 3
// with fallback_scrape_protocol, parse it as text).
func TestScrapeContentType(t *testing.T) {
	const expo = "# TYPE ct_test gauge\nct_test 1\n"
	const page = "<!DOCTYPE html>\n<html><body>Please sign in</body></html>\n"
	cases := []struct {
		name, ct, body string
		wantType       string // ContentTypeError.ContentType; "" means success
		wantParse      bool   // a plain ParseError (no type to blame)
	}{
		{"text 0.0.4", "text/plain; version=0.0.4; charset=utf-8", expo, "", false},
		{"text without version", "text/plain", expo, "", false},
		{"blank", "", expo, "", false},
		{"openmetrics", "application/openmetrics-text; version=1.0.0", expo + "# EOF\n", "", false},
		{"octet-stream with an exposition", "application/octet-stream", expo, "", false},
		{"html label on an exposition", "text/html", expo, "", false},
		{"html login page", "text/html; charset=utf-8", page, "text/html; charset=utf-8", false},
		{"json api answer", "application/json", `{"status":"ok"}`, "application/json", false},
		{"unparseable type and page", "garbage;;;=", page, "garbage;;;=", false},
		{"blank type and page", "", page, "", true},
		{"text type and page", "text/plain", page, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header()["Content-Type"] = []string{c.ct} // "" stays an empty header, not sniffed
				_, _ = io.WriteString(w, c.body)
			}))
			defer srv.Close()
			tg, err := NewTarget(TargetConfig{Name: "ct", URL: srv.URL + "/metrics", Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer tg.Close()
			res := tg.Scrape(context.Background(), time.Now())
			var cte *ContentTypeError
			var pe *ParseError
			switch {
			case c.wantType != "":
				if !errors.As(res.Err, &cte) {
					t.Fatalf("err = %v, want a ContentTypeError", res.Err)
				}
				if cte.ContentType != c.wantType || !strings.Contains(res.Err.Error(), "unexpected Content-Type") {
					t.Errorf("err = %v, want it to name %q", res.Err, c.wantType)
				}
				if !errors.As(res.Err, &pe) {
					t.Errorf("err = %v, want the parse error kept underneath", res.Err)
				}
			case c.wantParse:
				if !errors.As(res.Err, &pe) || errors.As(res.Err, &cte) {
					t.Errorf("err = %v, want a plain ParseError", res.Err)
				}
			default:
				if res.Err != nil {
					t.Fatalf("err = %v, want samples", res.Err)
				}
				if len(res.Samples) != 1 || res.Samples[0].Name != "ct_test" || res.Samples[0].Value != 1 {
					t.Errorf("samples = %+v, want ct_test 1", res.Samples)
				}
			}
		})
	}
}
