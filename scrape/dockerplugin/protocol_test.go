package dockerplugin

import (
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestProtocol(t *testing.T) {
	ok := map[string]any{"Err": ""}
	cases := []struct {
		name       string
		method     string
		path       string
		body       string
		startErr   error
		wantStatus int
		wantBody   map[string]any // nil: only check that Err is non-empty
		wantAllow  string
		wantStarts int
		wantStops  int
	}{
		{name: "activate", method: "POST", path: "/Plugin.Activate", wantStatus: 200,
			wantBody: map[string]any{"Implements": []any{"MetricsCollector"}}},
		{name: "activate with null body", method: "POST", path: "/Plugin.Activate", body: "null\n", wantStatus: 200,
			wantBody: map[string]any{"Implements": []any{"MetricsCollector"}}},
		{name: "start empty body", method: "POST", path: "/MetricsCollector.StartMetrics", wantStatus: 200, wantBody: ok, wantStarts: 1},
		{name: "start empty object", method: "POST", path: "/MetricsCollector.StartMetrics", body: "{}", wantStatus: 200, wantBody: ok, wantStarts: 1},
		{name: "start null", method: "POST", path: "/MetricsCollector.StartMetrics", body: "null\n", wantStatus: 200, wantBody: ok, wantStarts: 1},
		{name: "stop", method: "POST", path: "/MetricsCollector.StopMetrics", body: "{}", wantStatus: 200, wantBody: ok, wantStops: 1},
		{name: "handler error in Err", method: "POST", path: "/MetricsCollector.StartMetrics", startErr: errors.New("queue closed"),
			wantStatus: 500, wantBody: map[string]any{"Err": "queue closed"}, wantStarts: 1},
		{name: "malformed JSON", method: "POST", path: "/MetricsCollector.StartMetrics", body: `{"a":`, wantStatus: 400},
		{name: "trailing garbage", method: "POST", path: "/MetricsCollector.StopMetrics", body: `{} x`, wantStatus: 400},
		{name: "JSON array", method: "POST", path: "/MetricsCollector.StartMetrics", body: `[1]`, wantStatus: 400},
		{name: "body too large", method: "POST", path: "/MetricsCollector.StartMetrics", body: "{" + strings.Repeat(" ", maxBody) + "}", wantStatus: 413},
		{name: "GET activate", method: "GET", path: "/Plugin.Activate", wantStatus: 405, wantAllow: "POST"},
		{name: "PUT start", method: "PUT", path: "/MetricsCollector.StartMetrics", body: "{}", wantStatus: 405, wantAllow: "POST"},
		{name: "unknown endpoint", method: "POST", path: "/VolumeDriver.Create", body: "{}", wantStatus: 404},
		{name: "case matters", method: "POST", path: "/plugin.activate", wantStatus: 404},
		{name: "root", method: "POST", path: "/", wantStatus: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{startErr: tc.startErr}
			client, _ := startPlugin(t, NewServer(rec, nopLogger()))
			got := daemonCall(t, client, tc.method, tc.path, []byte(tc.body))
			if got.status != tc.wantStatus {
				t.Errorf("status = %d, want %d (body %v)", got.status, tc.wantStatus, got.body)
			}
			if got.contentType != ContentType {
				t.Errorf("Content-Type = %q, want %q", got.contentType, ContentType)
			}
			if got.allow != tc.wantAllow {
				t.Errorf("Allow = %q, want %q", got.allow, tc.wantAllow)
			}
			if tc.wantBody != nil {
				if !reflect.DeepEqual(got.body, tc.wantBody) {
					t.Errorf("body = %v, want %v", got.body, tc.wantBody)
				}
			} else if e, _ := got.body["Err"].(string); e == "" || len(got.body) != 1 {
				t.Errorf("body = %v, want a non-empty Err only", got.body)
			}
			if starts, stops := rec.counts(); starts != tc.wantStarts || stops != tc.wantStops {
				t.Errorf("handler calls: starts=%d stops=%d, want %d %d", starts, stops, tc.wantStarts, tc.wantStops)
			}
		})
	}
}

// TestProtocolLogsCalls: successful calls log at debug only (socket access
// must not flood the info log); failures stay at warn.
func TestProtocolLogsCalls(t *testing.T) {
	for _, tc := range []struct {
		level zapcore.Level
		want  []string
	}{
		{zap.InfoLevel, []string{"docker plugin call failed MetricsCollector.StopMetrics"}},
		{zap.DebugLevel, []string{"docker daemon activated plugin Plugin.Activate", "docker plugin call MetricsCollector.StartMetrics", "docker plugin call failed MetricsCollector.StopMetrics"}},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			core, logs := observer.New(tc.level)
			client, _ := startPlugin(t, NewServer(&recorder{stop: errors.New("boom")}, zap.New(core)))
			daemonCall(t, client, "POST", "/Plugin.Activate", nil)
			daemonCall(t, client, "POST", "/MetricsCollector.StartMetrics", nil)
			daemonCall(t, client, "POST", "/MetricsCollector.StopMetrics", nil)
			var got []string
			for _, e := range logs.FilterFieldKey("method").All() {
				got = append(got, e.Message+" "+e.ContextMap()["method"].(string))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("logs = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestServeHTTPDirect pins the exact bytes of an answer, independent of the
// socket plumbing.
func TestServeHTTPDirect(t *testing.T) {
	s := NewServer(&recorder{}, nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("POST", "/Plugin.Activate", nil))
	if want := "{\"Implements\":[\"MetricsCollector\"]}\n"; w.Code != 200 || w.Body.String() != want {
		t.Fatalf("answer = %d %q, want 200 %q", w.Code, w.Body.String(), want)
	}
}
