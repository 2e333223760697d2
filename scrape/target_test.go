package scrape

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// tgtNow is the scrape time used by the target tests.
var tgtNow = time.UnixMilli(1_700_000_100_000)

const tgtText = `# HELP requests_total Requests served.
# TYPE requests_total counter
requests_total{code="200"} 7
requests_total{code="500"} 1
# TYPE temperature gauge
temperature 21.5 1700000000000
`

const tgtOpenMetrics = `# HELP requests Requests served.
# TYPE requests counter
requests_total{code="200"} 7
requests_total{code="500"} 1
# TYPE temperature gauge
temperature 21.5 1700000000.000
# EOF
`

// tgtWant is what tgtText, tgtOpenMetrics and tgtProtobuf parse to at tgtNow.
var tgtWant = []string{
	`requests_total{code="200"} 7 @1700000100000`,
	`requests_total{code="500"} 1 @1700000100000`,
	`temperature{} 21.5 @1700000000000 explicit`,
}

// tgtProtobuf encodes the same families as tgtText, length-delimited.
func tgtProtobuf(t testing.TB) []byte {
	t.Helper()
	fams := []*dto.MetricFamily{{
		Name: proto.String("requests_total"),
		Help: proto.String("Requests served."),
		Type: dto.MetricType_COUNTER.Enum(),
		Metric: []*dto.Metric{
			{Label: []*dto.LabelPair{{Name: proto.String("code"), Value: proto.String("200")}}, Counter: &dto.Counter{Value: proto.Float64(7)}},
			{Label: []*dto.LabelPair{{Name: proto.String("code"), Value: proto.String("500")}}, Counter: &dto.Counter{Value: proto.Float64(1)}},
		},
	}, {
		Name:   proto.String("temperature"),
		Type:   dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(21.5)}, TimestampMs: proto.Int64(1_700_000_000_000)}},
	}}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeProtoDelim))
	for _, mf := range fams {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// tgtGzip compresses b.
func tgtGzip(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tgtRender projects samples to comparable strings, sorted.
func tgtRender(samples []Sample) []string {
	out := make([]string, 0, len(samples))
	for _, s := range samples {
		line := fmt.Sprintf("%s%s %g @%d", s.Name, s.Labels, s.Value, s.TimestampMs)
		if s.ExplicitTS {
			line += " explicit"
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}

func tgtEqual(t *testing.T, got []Sample, want []string) {
	t.Helper()
	g := tgtRender(got)
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Fatalf("samples:\n got %q\nwant %q", g, want)
	}
}

// tgtNew builds a target for url with the given tweaks and closes it at the end.
func tgtNew(t testing.TB, url string, tweak func(*TargetConfig)) *Target {
	t.Helper()
	cfg := TargetConfig{Name: "test", URL: url, UserAgent: "promfwd/test"}
	if tweak != nil {
		tweak(&cfg)
	}
	tg, err := NewTarget(cfg)
	if err != nil {
		t.Fatalf("NewTarget: %v", err)
	}
	t.Cleanup(tg.Close)
	return tg
}

// tgtServer serves fixed bodies; gzip-encodes them when gz is set.
func tgtServer(t testing.TB, contentType string, body []byte, gz bool) *httptest.Server {
	t.Helper()
	if gz {
		body = tgtGzip(t, body)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		if gz {
			w.Header().Set("Content-Encoding", "gzip")
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestScrapeFormats(t *testing.T) {
	pb := tgtProtobuf(t)
	cases := []struct {
		name, contentType string
		body              []byte
	}{
		{"text", "text/plain; version=0.0.4; charset=utf-8", []byte(tgtText)},
		{"openmetrics", "application/openmetrics-text; version=1.0.0; charset=utf-8", []byte(tgtOpenMetrics)},
		{"protobuf", "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", pb},
	}
	for _, c := range cases {
		for _, gz := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/gzip=%v", c.name, gz), func(t *testing.T) {
				srv := tgtServer(t, c.contentType, c.body, gz)
				res := tgtNew(t, srv.URL+"/metrics", nil).Scrape(context.Background(), tgtNow)
				if res.Err != nil {
					t.Fatalf("Scrape: %v", res.Err)
				}
				tgtEqual(t, res.Samples, tgtWant)
				if res.Unchanged || res.Source != "test" || res.URL != srv.URL+"/metrics" || !res.Start.Equal(tgtNow) {
					t.Errorf("result header = %+v", res)
				}
				if res.Bytes != int64(len(c.body)) {
					t.Errorf("Bytes = %d, want %d (decoded size)", res.Bytes, len(c.body))
				}
				for _, s := range res.Samples {
					if s.Hash != SeriesHash(s.Name, s.Labels.Labels()) {
						t.Errorf("%s: Hash not set", s.Name)
					}
				}
			})
		}
	}
}

func TestScrapeRequestHeaders(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		_, _ = w.Write([]byte(tgtText))
	}))
	defer srv.Close()
	tg := tgtNew(t, srv.URL, func(c *TargetConfig) {
		c.Timeout = 7500 * time.Millisecond
		c.HTTP.HTTPHeaders = &commoncfg.Headers{Headers: map[string]commoncfg.Header{"Prefer": {Values: []string{"profile=preview"}}}}
	})
	if res := tg.Scrape(context.Background(), tgtNow); res.Err != nil {
		t.Fatal(res.Err)
	}
	h := <-got
	want := map[string]string{
		"Accept":                              AcceptHeader,
		"Accept-Encoding":                     "gzip",
		"User-Agent":                          "promfwd/test",
		"X-Prometheus-Scrape-Timeout-Seconds": "7.5",
		"Prefer":                              "profile=preview",
		"If-None-Match":                       "",
		"If-Modified-Since":                   "",
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, h.Get(k), v)
		}
	}
}

func TestScrapeLimits(t *testing.T) {
	many := "# TYPE x gauge\nx{i=\"1\"} 1\nx{i=\"2\"} 2\nx{i=\"3\"} 3\n"
	cases := []struct {
		name   string
		limits Limits
		body   string
		limit  string // LimitError.Limit must be non-empty when set
	}{
		{"samples over", Limits{MaxSamples: 2}, many, "samples"},
		{"samples at", Limits{MaxSamples: 3}, many, ""},
		{"labels over", Limits{MaxLabels: 1}, "y{a=\"1\",b=\"2\"} 1\n", "labels"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := tgtServer(t, "text/plain; version=0.0.4", []byte(c.body), false)
			res := tgtNew(t, srv.URL, func(cfg *TargetConfig) { cfg.Limits = c.limits }).Scrape(context.Background(), tgtNow)
			if c.limit == "" {
				if res.Err != nil {
					t.Fatalf("Scrape: %v", res.Err)
				}
				return
			}
			var le *LimitError
			if !errors.As(res.Err, &le) {
				t.Fatalf("err = %v, want *LimitError", res.Err)
			}
			if res.Samples != nil || !strings.Contains(res.Err.Error(), "scrape test (") {
				t.Errorf("result = %+v", res)
			}
		})
	}
}

func TestScrapeStatusErrors(t *testing.T) {
	long := strings.Repeat("x", 300) + "TAIL"
	cases := []struct {
		name      string
		status    int
		body      string
		refused   bool
		contains  []string
		forbidden []string
	}{
		{"401 echoes auth", 401, "bad token\x00\x1b[31m for Authorization: Bearer tok-SECRET-123\n", true,
			[]string{"401 Unauthorized", "refused the credentials", `bad token`, "<secret>"}, []string{"tok-SECRET-123", "\x1b", "\x00"}},
		{"403", 403, "nope", true, []string{"403 Forbidden", "refused the credentials", `"nope"`}, nil},
		{"404 long body truncated", 404, long, false, []string{"404 Not Found", "..."}, []string{"TAIL", "refused"}},
		{"500 no snippet", 500, "stack trace with internals", false, []string{"500 Internal Server Error"}, []string{"stack trace"}},
		{"302 not followed", 302, "", false, []string{"302 Found"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			}))
			defer srv.Close()
			tg := tgtNew(t, srv.URL, func(cfg *TargetConfig) { cfg.HTTP.BearerToken = "tok-SECRET-123" })
			res := tg.Scrape(context.Background(), tgtNow)
			if res.Err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(res.Err, ErrCredentialsRefused); got != c.refused {
				t.Errorf("errors.Is(ErrCredentialsRefused) = %v, want %v", got, c.refused)
			}
			var se *StatusError
			if !errors.As(res.Err, &se) || se.Status != c.status || len(se.Snippet) > snippetMax+3 {
				t.Errorf("StatusError = %+v", se)
			}
			msg := res.Err.Error()
			for _, s := range c.contains {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q lacks %q", msg, s)
				}
			}
			for _, s := range c.forbidden {
				if strings.Contains(msg, s) {
					t.Errorf("error %q contains %q", msg, s)
				}
			}
		})
	}
}

func TestScrapeConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	res := tgtNew(t, url+"/metrics?api_key=QUERYSECRET", nil).Scrape(context.Background(), tgtNow)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "connection refused") {
		t.Fatalf("err = %v, want connection refused", res.Err)
	}
	if strings.Contains(res.Err.Error(), "QUERYSECRET") || strings.Contains(res.URL, "QUERYSECRET") {
		t.Errorf("query secret leaked: %v / %s", res.Err, res.URL)
	}
	if want := url + "/metrics?api_key=<secret>"; res.URL != want {
		t.Errorf("URL = %q, want %q", res.URL, want)
	}
}

func TestScrapeTimeoutAndCancel(t *testing.T) {
	cases := []struct {
		name      string
		partial   bool // headers and part of the body before stalling
		cancelled bool // caller cancels instead of the timeout firing
		want      string
	}{
		{"slow headers", false, false, "timed out after 50ms"},
		{"slow body", true, false, "timed out after 50ms"},
		{"caller cancels", true, true, "cancelled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c.partial {
					_, _ = w.Write([]byte("# TYPE x gauge\nx 1\n"))
					w.(http.Flusher).Flush()
				}
				if c.cancelled {
					cancel()
				}
				select {
				case <-r.Context().Done():
				case <-release:
				}
			}))
			defer srv.Close()
			defer close(release)
			timeout := 50 * time.Millisecond
			if c.cancelled {
				timeout = time.Hour
			}
			res := tgtNew(t, srv.URL, func(cfg *TargetConfig) { cfg.Timeout = timeout }).Scrape(ctx, tgtNow)
			if res.Err == nil || !strings.Contains(res.Err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", res.Err, c.want)
			}
			if !errors.Is(res.Err, context.DeadlineExceeded) && !errors.Is(res.Err, context.Canceled) {
				t.Errorf("err %v wraps no context error", res.Err)
			}
		})
	}
}

func TestNewTargetErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  TargetConfig
		want string
	}{
		{"no name", TargetConfig{URL: "http://x"}, "name is empty"},
		{"bad scheme", TargetConfig{Name: "a", URL: "ftp://x/"}, `scheme "ftp"`},
		{"no scheme", TargetConfig{Name: "a", URL: "localhost:9100"}, "scheme"},
		{"no host", TargetConfig{Name: "a", URL: "http:///metrics"}, "no host"},
		{"unix with host", TargetConfig{Name: "a", URL: "unix://host/x.sock"}, "unix:///"},
		{"bad metrics path", TargetConfig{Name: "a", URL: "unix:///x.sock", MetricsPath: "metrics"}, "must start with /"},
		{"negative timeout", TargetConfig{Name: "a", URL: "http://x", Timeout: -1}, "negative timeout"},
		{"negative body", TargetConfig{Name: "a", URL: "http://x", MaxBodyBytes: -1}, "negative max body"},
		{"unparsable url keeps password out", TargetConfig{Name: "a", URL: "http://u:PASS@[::1"}, "url is not valid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewTarget(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "PASS") {
				t.Errorf("password leaked: %v", err)
			}
		})
	}
}
