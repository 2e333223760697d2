package status

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeSource serves fixed snapshots.
type fakeSource struct {
	targets []Target
	sinks   []Sink
}

func (f fakeSource) Overview() Overview {
	return Overview{Version: "v-test", SourcesUp: 1, SourcesDown: 1, Sinks: []SinkSummary{{Name: "hec", State: SinkRetrying, Reason: "retrying after 3 failed attempts"}}}
}
func (f fakeSource) Targets() []Target       { return append([]Target(nil), f.targets...) }
func (f fakeSource) Sinks() []Sink           { return append([]Sink(nil), f.sinks...) }
func (f fakeSource) Config() (string, error) { return "sinks:\n  - token: <secret>\n", nil }

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func testHandler(t *testing.T, src Source, hist *History) *httptest.Server {
	t.Helper()
	h, err := NewHandler(src, hist, func() time.Time { return t0.Add(time.Minute) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b), resp.Header
}

func TestFilterTargets(t *testing.T) {
	ts := []Target{
		{Name: "scout", Source: "scout", State: StateUp, URL: "https://api.scout/metrics"},
		{Name: "node-1", Source: "nodes", State: StateDown},
		{Name: "node-2", Source: "nodes", State: StateUp},
		{Name: "new", Source: "new", State: StatePending},
	}
	for _, tc := range []struct {
		state, name string
		want        string
	}{
		{"", "", "new node-1 node-2 scout"},
		{StateUp, "", "node-2 scout"},
		{StateDown, "", "node-1"},
		{"", "NODE", "node-1 node-2"},
		{"", "nodes", "node-1 node-2"}, // by source
		{"", "api.scout", "scout"},     // by URL
		{StateDown, "scout", ""},
	} {
		t.Run(tc.state+"/"+tc.name, func(t *testing.T) {
			var got []string
			for _, x := range FilterTargets(slices.Clone(ts), tc.state, tc.name) {
				got = append(got, x.Name)
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got %q, want %q", g, tc.want)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	h := NewHistory(time.Minute)
	h.Record(t0, map[string]Totals{"a": {Sent: 100, QueueBytes: 10}})
	h.Record(t0.Add(10*time.Second), map[string]Totals{"a": {Sent: 300, Dropped: 5, QueueBytes: 20}})
	pts := h.Points("a")
	if len(pts) != 2 || pts[1].SentPerSecond != 20 || pts[1].Dropped != 5 || pts[1].QueueBytes != 20 {
		t.Fatalf("points %+v: want the second at 20/s, 5 dropped, 20 bytes", pts)
	}
	// Past the window, old points go; a counter that went back (a reload
	// rebuilt the sink) gives no negative rate.
	h.Record(t0.Add(65*time.Second), map[string]Totals{"a": {Sent: 10}})
	pts = h.Points("a")
	if len(pts) != 2 || pts[0].Time != t0.Add(10*time.Second) || pts[1].SentPerSecond != 0 {
		t.Fatalf("points %+v: want the first dropped and no negative rate", pts)
	}
	// A sink that is gone loses its history.
	h.Record(t0.Add(70*time.Second), map[string]Totals{"b": {}})
	if got := h.Points("a"); len(got) != 0 {
		t.Errorf("removed sink kept %d points", len(got))
	}
}

func TestChartIsInlineSVG(t *testing.T) {
	pts := []Point{{QueueBytes: 0}, {QueueBytes: 1024}, {QueueBytes: 4096}}
	charts := sinkCharts(pts)
	if len(charts) != 3 {
		t.Fatalf("%d charts, want 3", len(charts))
	}
	q := string(charts[1])
	if !strings.HasPrefix(q, "<svg") || !strings.Contains(q, "<polyline") || !strings.Contains(q, "queue bytes: 4.0 KiB") {
		t.Errorf("queue chart: %s", q)
	}
	// The highest value touches the top, zero the bottom.
	if !strings.Contains(q, "240.0,1.0") || !strings.Contains(q, "0.0,47.0") {
		t.Errorf("queue chart not scaled to its maximum: %s", q)
	}
	if empty := string(sinkCharts(nil)[0]); strings.Contains(empty, "<polyline") || !strings.Contains(empty, "no data yet") {
		t.Errorf("empty chart: %s", empty)
	}
}

func TestPagesAndAPI(t *testing.T) {
	one := 0.25
	src := fakeSource{
		targets: []Target{
			{Name: "good", Source: "good", Kind: "static", State: StateUp, LastScrape: t0, Samples: 12, Bytes: 2048, Conditional: "not_modified",
				Labels: []Label{{Name: "job", Value: "good"}}},
			{Name: "bad", Source: "bad", Kind: "static", State: StateDown, LastScrape: t0, LastError: "scrape bad: 401 <Unauthorized>", ErrorReason: "auth"},
		},
		sinks: []Sink{{Name: "hec", Type: "hec", State: SinkRetrying, Reason: "retrying after 3 failed attempts",
			Queue: Queue{Requests: 2, Bytes: 5000}, Dropped: map[string]float64{"queue_full": 7, "rejected": 0}, DedupeHitRatio: &one,
			LastRejection: &Rejection{Time: t0, Message: "400: invalid <event>"}}},
	}
	hist := NewHistory(0)
	hist.Record(t0, map[string]Totals{"hec": {QueueBytes: 100}})
	hist.Record(t0.Add(time.Second), map[string]Totals{"hec": {QueueBytes: 5000}})
	srv := testHandler(t, src, hist)

	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/", []string{"v-test", "1 up", "1 down", `class="retrying"`, "retrying after 3 failed attempts"}},
		{"/targets", []string{`id="target-good"`, "304 Not Modified", "2.0 KiB", `job="good"`, ">auth</b>", "401 &lt;Unauthorized&gt;", `href="/targets?name=bad"`}},
		{"/targets?state=down", []string{"1 of 2 targets", `id="target-bad"`}},
		{"/sinks", []string{`id="sink-hec"`, "<svg", `<dd class="dropped"><span class="lbl">queue_full: 7</span></dd>`, "25.0%", "400: invalid &lt;event&gt;", `data-bytes="5000"`}},
		{"/config", []string{"token: &lt;secret&gt;"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			body, hdr := get(t, srv.URL+tc.path)
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q", ct)
			}
			if strings.Contains(body, "<script") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
				t.Errorf("page has a script or an external reference")
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
	if body, _ := get(t, srv.URL+"/targets?state=down"); strings.Contains(body, `id="target-good"`) {
		t.Error("state=down shows an up target")
	}

	var ov Overview
	getJSON(t, srv.URL+"/api/v1/status", &ov)
	if ov.Version != "v-test" || ov.SourcesDown != 1 || len(ov.Sinks) != 1 {
		t.Errorf("status: %+v", ov)
	}
	var ts []Target
	getJSON(t, srv.URL+"/api/v1/targets?state=down", &ts)
	if len(ts) != 1 || ts[0].Name != "bad" || ts[0].ErrorReason != "auth" {
		t.Errorf("targets?state=down: %+v", ts)
	}
	var sk []Sink
	getJSON(t, srv.URL+"/api/v1/sinks", &sk)
	if len(sk) != 1 || len(sk[0].History) != 2 || sk[0].History[1].QueueBytes != 5000 || sk[0].LastRejection == nil {
		t.Errorf("sinks: %+v", sk)
	}
	var cfg map[string]string
	getJSON(t, srv.URL+"/api/v1/config", &cfg)
	if !strings.Contains(cfg["yaml"], "<secret>") {
		t.Errorf("config: %v", cfg)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	body, hdr := get(t, url)
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", url, ct)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%s: %v\n%s", url, err, body)
	}
}

// BenchmarkRenderTargets10k renders /targets for 10,000 targets (the
// issue's budget is 200 ms per render).
func BenchmarkRenderTargets10k(b *testing.B) {
	ts := make([]Target, 10_000)
	for i := range ts {
		ts[i] = Target{
			Name: fmt.Sprintf("node-%05d", i), Source: "nodes", Kind: "file_sd", URL: fmt.Sprintf("http://10.0.%d.%d:9100/metrics", i/250, i%250),
			State: StateUp, LastScrape: t0, NextScrape: t0.Add(time.Minute), DurationSeconds: 0.012, Samples: 1500, Bytes: 90_000,
			Labels: []Label{{Name: "instance", Value: fmt.Sprintf("10.0.%d.%d:9100", i/250, i%250)}, {Name: "job", Value: "nodes"}, {Name: "rack", Value: "r1"}},
		}
		if i%10 == 0 {
			ts[i].State, ts[i].LastError, ts[i].ErrorReason = StateDown, "scrape: connection refused", "connect"
		}
	}
	h, err := NewHandler(fakeSource{}, nil, func() time.Time { return t0 }, nil)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := h.RenderTargets(&buf, ts, "", ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "html_bytes")
}

// TestTargetRowsEscape: the hand-written rows escape every value as
// html/template would (a target name or label from a file_sd file is
// untrusted input).
func TestTargetRowsEscape(t *testing.T) {
	evil := `<script>alert(1)</script>"&'`
	src := fakeSource{targets: []Target{{Name: evil, Source: evil + "src", Kind: "file_sd", URL: evil, Shard: evil, State: evil,
		LastError: evil, ErrorReason: evil, Labels: []Label{{Name: evil, Value: evil}}}}}
	srv := testHandler(t, src, nil)
	body, _ := get(t, srv.URL+"/targets")
	if strings.Contains(body, "<script>") || strings.Contains(body, `"&'`) {
		t.Errorf("unescaped value in /targets:\n%s", body)
	}
	if !strings.Contains(body, `href="/targets?name=%3Cscript%3Ealert%281%29%3C%2Fscript%3E%22%26%27"`) {
		t.Errorf("the filter link does not carry the name query-escaped:\n%s", body)
	}
}
