package forwarder

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/forwarder/status"
)

// statusRig is a running forwarder with one healthy source (answering 304
// to a conditional GET), one failing source (401, with credentials in its
// URL and headers), a healthy stdout sink and a HEC sink whose receiver is
// down, as an operator would see it at 3 a.m.
type statusRig struct {
	r    *runningFwd
	base string
}

func newStatusRig(t *testing.T) *statusRig {
	t.Helper()
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		_, _ = io.WriteString(w, "# TYPE scout_up gauge\nscout_up 1\n# TYPE scout_images gauge\nscout_images{repo=\"a\"} 3\n")
	}))
	t.Cleanup(good.Close)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "invalid token", http.StatusUnauthorized)
	}))
	t.Cleanup(bad.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	_ = ln.Close() // nothing listens there: the sink's receiver is down
	cfg := fmt.Sprintf(`
shutdown_timeout: 2s
server:
  listen: 127.0.0.1:0
sources:
  - name: scout
    url: %s/metrics
    interval: 1s
  - name: billing
    url: %s/metrics?api_key=src-q-SECRET1
    interval: 1s
    bearer_token: src-bearer-SECRET2
    headers: { X-Api-Key: src-hdr-SECRET3 }
sinks:
  - name: out
    type: stdout
  - name: splunk
    type: hec
    url: http://%s
    token: hec-tok-SECRET5
    flush_interval: 100ms
    resend_after: 0s # no dedupe: every scrape queues more
`, good.URL, bad.URL, down)
	c, out := loadRunConfig(t, cfg)
	r := runWith(t, c, out, Options{StatusSampleEvery: 100 * time.Millisecond})
	return &statusRig{r: r, base: r.selfURL(t)}
}

func (s *statusRig) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get(s.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if found := findSecrets(string(b)); len(found) > 0 {
		t.Errorf("GET %s shows secrets %q", path, found)
	}
	return string(b)
}

func (s *statusRig) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s.get(t, path)), v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func (s *statusRig) targets(t *testing.T, query string) map[string]status.Target {
	t.Helper()
	var ts []status.Target
	s.getJSON(t, "/api/v1/targets"+query, &ts)
	out := map[string]status.Target{}
	for _, x := range ts {
		out[x.Name] = x
	}
	return out
}

func (s *statusRig) sinks(t *testing.T) map[string]status.Sink {
	t.Helper()
	var ss []status.Sink
	s.getJSON(t, "/api/v1/sinks", &ss)
	out := map[string]status.Sink{}
	for _, x := range ss {
		out[x.Name] = x
	}
	return out
}

// awaitOperatorView waits until both sources were scraped (the healthy
// one twice, so its conditional GET was answered 304) and the down sink
// has failed and queued.
func (s *statusRig) awaitOperatorView(t *testing.T) {
	t.Helper()
	awaitCond(t, "scout answered 304 and billing failed", func() bool {
		ts := s.targets(t, "")
		return ts["scout"].Conditional == "not_modified" && ts["billing"].State == status.StateDown
	})
	awaitCond(t, "the splunk sink retrying with a queue", func() bool {
		sk := s.sinks(t)["splunk"]
		return sk.State == status.SinkRetrying && sk.Queue.Bytes > 0
	})
}

func TestStatusAPI(t *testing.T) {
	s := newStatusRig(t)
	s.awaitOperatorView(t)

	t.Run("targets", func(t *testing.T) {
		ts := s.targets(t, "")
		good, bad := ts["scout"], ts["billing"]
		if good.State != status.StateUp || good.Samples != 2 || good.LastScrape.IsZero() || good.NextScrape.Before(good.LastScrape) ||
			good.Kind != "static" || !hasLabel(good.Labels, "job", "scout") {
			t.Errorf("scout: %+v", good)
		}
		if bad.ErrorReason != "auth" || !strings.Contains(bad.LastError, "401") {
			t.Errorf("billing: want reason auth and the 401 in the error, got %+v", bad)
		}
		if !strings.Contains(bad.URL, "api_key=%3Csecret%3E") && !strings.Contains(bad.URL, "api_key=<secret>") {
			t.Errorf("billing URL %q: want the query value redacted", bad.URL)
		}
		if down := s.targets(t, "?state=down"); len(down) != 1 || down["billing"].Name == "" {
			t.Errorf("state=down: %v", down)
		}
		if byName := s.targets(t, "?name=SCO"); len(byName) != 1 || byName["scout"].Name == "" {
			t.Errorf("name=SCO: %v", byName)
		}
	})

	t.Run("sinks", func(t *testing.T) {
		ss := s.sinks(t)
		sk := ss["splunk"]
		if sk.Type != "hec" || sk.ConsecutiveFailures == 0 || !strings.Contains(sk.LastError, "connection refused") ||
			!strings.Contains(sk.Reason, "connection refused") || sk.FailingSince.IsZero() {
			t.Errorf("splunk: %+v", sk)
		}
		before := sk.Queue.Bytes + int64(sk.Queue.PendingSamples)
		awaitCond(t, "the splunk queue to grow", func() bool {
			q := s.sinks(t)["splunk"].Queue
			return q.Bytes+int64(q.PendingSamples) > before
		})
		awaitCond(t, "the out sink to deliver, with history", func() bool {
			o := s.sinks(t)["out"]
			return o.State == status.SinkHealthy && o.SamplesSent > 0 && len(o.History) >= 3
		})
		o := s.sinks(t)["out"]
		// scout answers 304 from its second scrape on: dedupe skips the
		// repeated values, so the ratio is above zero.
		if o.DedupeOffered == 0 || o.DedupeHitRatio == nil || *o.DedupeHitRatio <= 0 {
			t.Errorf("out dedupe: offered %d, ratio %v", o.DedupeOffered, o.DedupeHitRatio)
		}
		if len(o.Dropped) == 0 {
			t.Error("out: no dropped-by-reason map")
		}
	})

	t.Run("overview", func(t *testing.T) {
		var ov status.Overview
		s.getJSON(t, "/api/v1/status", &ov)
		if ov.Version != "test" || ov.SourcesUp != 1 || ov.SourcesDown != 1 || ov.ConfigFile != "test.yaml" || ov.UptimeSeconds <= 0 {
			t.Errorf("overview: %+v", ov)
		}
		states := map[string]string{}
		for _, sk := range ov.Sinks {
			states[sk.Name] = sk.State
		}
		if states["splunk"] != status.SinkRetrying || states["out"] != status.SinkHealthy {
			t.Errorf("sink states %v", states)
		}
		if ov.LastReload != nil {
			t.Errorf("last reload %+v before any reload", ov.LastReload)
		}
		cfg, _ := loadRunConfig(t, "shutdown_timeout: 1s\nsources: [{name: x, url: 'http://127.0.0.1:1/m'}]\nsinks: [{name: out, type: stdout}]")
		cfg.Server.Listen = "127.0.0.1:0"
		if err := s.r.f.Reload(cfg); err != nil {
			t.Fatal(err)
		}
		s.getJSON(t, "/api/v1/status", &ov)
		if ov.LastReload == nil || !ov.LastReload.OK || ov.LastReload.Time.IsZero() {
			t.Errorf("last reload after a good one: %+v", ov.LastReload)
		}
		// A config that does not even load (main reports it) shows as failed.
		s.r.f.ReportReload(errors.New(`config: test.yaml:3:5: sinks[0].type: unknown type "splonk"`))
		s.getJSON(t, "/api/v1/status", &ov)
		if ov.LastReload == nil || ov.LastReload.OK || !strings.Contains(ov.LastReload.Error, "splonk") {
			t.Errorf("last reload after a rejected one: %+v", ov.LastReload)
		}
		if page := s.get(t, "/"); !strings.Contains(page, "failed") || !strings.Contains(page, "splonk") {
			t.Error("overview page does not show the failed reload")
		}
	})
}

func TestStatusConfigPage(t *testing.T) {
	s := newStatusRig(t)
	var c map[string]string
	s.getJSON(t, "/api/v1/config", &c)
	if !strings.Contains(c["yaml"], "token: <secret>") || !strings.Contains(c["yaml"], "name: splunk") {
		t.Errorf("config: %s", c["yaml"])
	}
	page := s.get(t, "/config")
	if !strings.Contains(page, "token: &lt;secret&gt;") {
		t.Errorf("/config page lacks the redacted token")
	}
}

func TestStatusPagesHTML(t *testing.T) {
	s := newStatusRig(t)
	s.awaitOperatorView(t)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/", []string{"1 up", "1 down", "splunk", "retrying"}},
		{"/targets", []string{`id="target-scout"`, "304 Not Modified", `id="target-billing"`, ">auth</b>", "401"}},
		{"/targets?state=down&name=bill", []string{"1 of 2 targets", `id="target-billing"`}},
		{"/sinks", []string{`id="sink-splunk"`, "connection refused", `class="chart chart-queue"`, `class="chart chart-sent"`, `class="chart chart-drops"`}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			body := s.get(t, tc.path)
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s lacks %q", tc.path, w)
				}
			}
		})
	}
}

func hasLabel(ls []status.Label, name, value string) bool {
	for _, l := range ls {
		if l.Name == name && l.Value == value {
			return true
		}
	}
	return false
}
