package ddtest

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const key = "test-api-key"

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func series(metric string, ts int64) string {
	return fmt.Sprintf(`{"metric":%q,"type":3,"points":[{"timestamp":%d,"value":1.5}],"resources":[{"name":"h","type":"host"}],"tags":["a:b"]}`, metric, ts)
}

func payload(ss ...string) string { return `{"series":[` + strings.Join(ss, ",") + `]}` }

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = io.WriteString(w, s)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zl(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	_, _ = io.WriteString(w, s)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func rawDeflate(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.DefaultCompression)
	_, _ = io.WriteString(w, s)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type req struct {
	method, path, key, ctype, encoding string
	body                               []byte
}

func do(t *testing.T, srv *Server, r req) (*http.Response, string) {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	if r.path == "" {
		r.path = SeriesPath
	}
	hr, err := http.NewRequest(r.method, srv.URL()+r.path, bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.key != "-" {
		hr.Header.Set("DD-API-KEY", key)
	}
	if r.ctype == "" {
		r.ctype = "application/json"
	}
	hr.Header.Set("Content-Type", r.ctype)
	if r.encoding != "" {
		hr.Header.Set("Content-Encoding", r.encoding)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func newServer(t *testing.T, o Options) *Server {
	o.APIKey = key
	if o.Now == nil {
		o.Now = func() time.Time { return t0 }
	}
	s := NewServer(o)
	t.Cleanup(func() {
		s.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return s
}

func TestServerAccepts(t *testing.T) {
	body := payload(series("a.b_c", t0.Unix()), series("x1", t0.Add(-59*time.Minute).Unix()), series("y", t0.Add(9*time.Minute).Unix()))
	for _, tc := range []struct {
		encoding string
		body     []byte
	}{
		{"gzip", gz(t, body)},
		{"deflate", zl(t, body)},
		{"", []byte(body)},
	} {
		t.Run("encoding="+tc.encoding, func(t *testing.T) {
			srv := newServer(t, Options{})
			resp, answer := do(t, srv, req{encoding: tc.encoding, body: tc.body})
			if resp.StatusCode != http.StatusAccepted || strings.TrimSpace(answer) != `{"errors":[]}` {
				t.Fatalf("got %d %s", resp.StatusCode, answer)
			}
			got := srv.Series()
			if len(got) != 3 || got[0].Metric != "a.b_c" || *got[0].Points[0].Value != 1.5 || got[0].Host() != "h" {
				t.Fatalf("recorded %+v", got)
			}
			if v, ok := got[0].Tag("a"); !ok || v != "b" {
				t.Errorf("Tag(a) = %q, %v", v, ok)
			}
			rq := srv.Requests()
			if len(rq) != 1 || rq[0].Points != 3 || rq[0].DecompressedBytes != len(body) || rq[0].Encoding != tc.encoding {
				t.Errorf("requests %+v", rq)
			}
		})
	}
}

func TestServerRejects(t *testing.T) {
	now := t0.Unix()
	ok := series("ok", now)
	big := strings.Repeat("x", 1000)
	manyPoints := `{"metric":"m","type":3,"points":[` + strings.TrimSuffix(strings.Repeat(fmt.Sprintf(`{"timestamp":%d,"value":1},`, now), 11), ",") + `]}`
	for _, tc := range []struct {
		name   string
		opts   Options
		r      req
		status int
		reason string
	}{
		{"no key", Options{}, req{key: "-", body: []byte(payload(ok))}, 403, "Forbidden"},
		{"wrong path", Options{}, req{path: "/api/v1/series", body: []byte(payload(ok))}, 404, "no route"},
		{"GET", Options{}, req{method: http.MethodGet}, 405, "not allowed"},
		{"content type", Options{}, req{ctype: "text/plain", body: []byte(payload(ok))}, 415, "content type"},
		{"unknown encoding", Options{}, req{encoding: "br", body: []byte(payload(ok))}, 415, "not supported"},
		{"raw deflate is not zlib", Options{}, req{encoding: "deflate", body: rawDeflate(t, payload(ok))}, 400, "zlib"},
		{"not gzip", Options{}, req{encoding: "gzip", body: []byte(payload(ok))}, 400, "gzip"},
		{"unknown field", Options{}, req{body: []byte(`{"series":[{"metric":"m","points":[{"timestamp":1,"value":1}],"host":"h"}]}`)}, 400, "unknown field"},
		{"type as string", Options{}, req{body: []byte(fmt.Sprintf(`{"series":[{"metric":"m","type":"3","points":[{"timestamp":%d,"value":1}]}]}`, now))}, 400, "invalid JSON"},
		{"type out of range", Options{}, req{body: []byte(fmt.Sprintf(`{"series":[{"metric":"m","type":4,"points":[{"timestamp":%d,"value":1}]}]}`, now))}, 400, "type 4"},
		{"fractional timestamp", Options{}, req{body: []byte(`{"series":[{"metric":"m","points":[{"timestamp":1.5,"value":1}]}]}`)}, 400, "invalid JSON"},
		{"null value", Options{}, req{body: []byte(fmt.Sprintf(`{"series":[{"metric":"m","points":[{"timestamp":%d,"value":null}]}]}`, now))}, 400, "required"},
		{"no points", Options{}, req{body: []byte(`{"series":[{"metric":"m","points":[]}]}`)}, 400, "no points"},
		{"no series", Options{}, req{body: []byte(`{"series":[]}`)}, 400, "no series"},
		{"trailing data", Options{}, req{body: []byte(payload(ok) + "{}")}, 400, "trailing"},
		{"name starts with digit", Options{}, req{body: []byte(payload(series("1m", now)))}, 400, "start with a letter"},
		{"name with dash", Options{}, req{body: []byte(payload(series("a-b", now)))}, 400, "invalid character"},
		{"name too long", Options{}, req{body: []byte(payload(series("a"+strings.Repeat("b", 200), now)))}, 400, "longer than"},
		{"too far ahead", Options{}, req{body: []byte(payload(series("m", t0.Add(11*time.Minute).Unix())))}, 400, "outside"},
		{"too far behind", Options{}, req{body: []byte(payload(series("m", t0.Add(-61*time.Minute).Unix())))}, 400, "outside"},
		{"empty tag", Options{}, req{body: []byte(fmt.Sprintf(`{"series":[{"metric":"m","points":[{"timestamp":%d,"value":1}],"tags":[""]}]}`, now))}, 400, "empty"},
		{"compressed too large", Options{MaxCompressedBytes: 100}, req{body: []byte(payload(series("m"+big, now)))}, 413, "compressed"},
		{"decompressed too large", Options{MaxDecompressedBytes: 500}, req{encoding: "gzip", body: gz(t, payload(series("m"+big, now)))}, 413, "decompressed"},
		{"too many points", Options{MaxPoints: 10}, req{body: []byte(payload(manyPoints))}, 413, "11 points"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.opts)
			resp, answer := do(t, srv, tc.r)
			if resp.StatusCode != tc.status || !strings.Contains(answer, tc.reason) {
				t.Fatalf("got %d %s, want %d containing %q", resp.StatusCode, answer, tc.status, tc.reason)
			}
			if n := len(srv.Series()); n != 0 {
				t.Errorf("%d series recorded from a rejected request", n)
			}
			if rq := srv.Requests(); len(rq) != 1 || rq[0].Status != tc.status || rq[0].Error == "" {
				t.Errorf("requests %+v", rq)
			}
		})
	}
}

func TestServerDefaultLimits(t *testing.T) {
	srv := newServer(t, Options{})
	if srv.opts.MaxCompressedBytes != 512_000 || srv.opts.MaxDecompressedBytes != 5_242_880 || srv.opts.MaxPoints != 10_000 {
		t.Fatalf("limits %+v", srv.opts)
	}
}

func TestServerFaultCount(t *testing.T) {
	srv := newServer(t, Options{})
	srv.Fail(Fault{Status: 429, Header: http.Header{"Retry-After": {"7"}, "X-Ratelimit-Reset": {"7"}}, Count: 2})
	srv.Fail(Fault{Status: 400, Body: `{"errors":["nope"]}`, Count: 1})
	body := []byte(payload(series("m", t0.Unix())))
	for i, want := range []int{429, 429, 400, 202, 202} {
		resp, answer := do(t, srv, req{body: body})
		if resp.StatusCode != want {
			t.Fatalf("request %d: got %d, want %d", i, resp.StatusCode, want)
		}
		if want == 429 && resp.Header.Get("Retry-After") != "7" {
			t.Errorf("request %d: Retry-After %q", i, resp.Header.Get("Retry-After"))
		}
		if want == 400 && !strings.Contains(answer, "nope") {
			t.Errorf("request %d: body %q", i, answer)
		}
	}
	if n := len(srv.Series()); n != 2 {
		t.Errorf("recorded %d series, want 2", n)
	}
}

func TestServerFaultPeriod(t *testing.T) {
	now := t0
	srv := newServer(t, Options{Now: func() time.Time { return now }})
	srv.Fail(Fault{Status: 503, Until: t0.Add(time.Minute)})
	body := []byte(payload(series("m", t0.Unix())))
	for _, step := range []struct {
		at   time.Duration
		want int
	}{{0, 503}, {30 * time.Second, 503}, {time.Minute, 202}, {2 * time.Minute, 202}} {
		now = t0.Add(step.at)
		if resp, _ := do(t, srv, req{body: body}); resp.StatusCode != step.want {
			t.Fatalf("at +%s: got %d, want %d", step.at, resp.StatusCode, step.want)
		}
	}
}

func TestServerKeyRotationAndReset(t *testing.T) {
	srv := newServer(t, Options{})
	body := []byte(payload(series("m", t0.Unix())))
	if resp, _ := do(t, srv, req{body: body}); resp.StatusCode != 202 {
		t.Fatalf("got %d", resp.StatusCode)
	}
	srv.SetAPIKey("rotated")
	if resp, _ := do(t, srv, req{body: body}); resp.StatusCode != 403 {
		t.Fatalf("old key after rotation: got %d", resp.StatusCode)
	}
	srv.Reset()
	if len(srv.Series()) != 0 || len(srv.Requests()) != 0 {
		t.Fatal("Reset kept records")
	}
}
