package hectest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

const (
	okEvent  = `{"time":1700000000.5,"event":"metric","host":"h","index":"metrics","fields":{"metric_name":"cpu","_value":1.5,"core":"0"}}`
	okMulti  = `{"time":1700000001,"event":"metric","fields":{"metric_name:a":1,"metric_name:b":-2e-3,"job":"x"}}`
	testChan = "4b0f5c1e-3f33-4a36-9d0f-3a1f0e7c2d11"
)

type response struct {
	status int
	body   map[string]any
	header http.Header
}

func do(t *testing.T, method, url string, hdr map[string]string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(b, &r.body); err != nil {
		t.Fatalf("answer %q is not JSON: %v", b, err)
	}
	return r
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return b.Bytes()
}

func auth(extra ...string) map[string]string {
	h := map[string]string{"Authorization": "Splunk " + DefaultToken}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

func TestEventEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     Options
		hdr      map[string]string
		body     []byte
		status   int
		code     float64
		evNum    float64 // invalid-event-number, -1 when absent
		accepted int     // events accepted
	}{
		{"single event", Options{}, auth(), []byte(okEvent), 200, 0, -1, 1},
		{"concatenated without separator", Options{}, auth(), []byte(okEvent + okMulti), 200, 0, -1, 2},
		{"newline separated, gzip", Options{}, auth("Content-Encoding", "gzip"), gz(okEvent + "\n" + okMulti + "\n"), 200, 0, -1, 2},
		{"no token", Options{}, nil, []byte(okEvent), 401, 2, -1, 0},
		{"bad scheme", Options{}, map[string]string{"Authorization": "Bearer " + DefaultToken}, []byte(okEvent), 401, 3, -1, 0},
		{"wrong token", Options{}, map[string]string{"Authorization": "Splunk nope"}, []byte(okEvent), 403, 4, -1, 0},
		{"disabled token", Options{TokenDisabled: true}, auth(), []byte(okEvent), 403, 1, -1, 0},
		{"no data", Options{}, auth(), []byte(" \n"), 400, 5, -1, 0},
		{"not json", Options{}, auth(), []byte(okEvent + "{nope"), 400, 6, 1, 0},
		{"array", Options{}, auth(), []byte("[" + okEvent + "]"), 400, 6, 0, 0},
		{"event missing", Options{}, auth(), []byte(`{"fields":{"metric_name":"a","_value":1}}`), 400, 12, -1, 0},
		{"event blank", Options{}, auth(), []byte(`{"event":"","fields":{"metric_name":"a","_value":1}}`), 400, 13, -1, 0},
		{"not a metric", Options{}, auth(), []byte(`{"event":"hello"}`), 400, 6, 0, 0},
		{"time as string", Options{}, auth(), []byte(`{"time":"1700000000","event":"metric","fields":{"metric_name":"a","_value":1}}`), 400, 6, 0, 0},
		{"time in ms", Options{}, auth(), []byte(`{"time":1700000000123,"event":"metric","fields":{"metric_name":"a","_value":1}}`), 400, 6, 0, 0},
		{"value as string", Options{}, auth(), []byte(`{"event":"metric","fields":{"metric_name":"a","_value":"1"}}`), 400, 6, 0, 0},
		{"value NaN string", Options{}, auth(), []byte(okEvent + `{"event":"metric","fields":{"metric_name":"a","_value":"NaN"}}`), 400, 6, 1, 0},
		{"value missing", Options{}, auth(), []byte(`{"event":"metric","fields":{"metric_name":"a"}}`), 400, 6, 0, 0},
		{"metric_name missing", Options{}, auth(), []byte(`{"event":"metric","fields":{"_value":1}}`), 400, 6, 0, 0},
		{"underscore dimension", Options{}, auth(), []byte(`{"event":"metric","fields":{"metric_name":"a","_value":1,"_x":"y"}}`), 400, 6, 0, 0},
		{"numeric dimension", Options{}, auth(), []byte(`{"event":"metric","fields":{"metric_name":"a","_value":1,"x":2}}`), 400, 6, 0, 0},
		{"multi mixed with metric_name", Options{}, auth(), []byte(`{"event":"metric","fields":{"metric_name":"a","_value":1,"metric_name:b":2}}`), 400, 6, 0, 0},
		{"unknown top-level key", Options{}, auth(), []byte(`{"event":"metric","extra":1,"fields":{"metric_name":"a","_value":1}}`), 400, 6, 0, 0},
		// Splunk's metric name rules (issue 17).
		{"metric name starts with _", Options{}, auth(), []byte(`{"event":"metric","fields":{"metric_name":"_ref_total","_value":1}}`), 400, 6, 0, 0},
		{"metric name starts with digit", Options{}, auth(), []byte(`{"event":"metric","fields":{"metric_name":"2xx","_value":1}}`), 400, 6, 0, 0},
		{"metric name contains metric_name", Options{}, auth(), []byte(`{"event":"metric","fields":{"metric_name":"ref_metric_name_total","_value":1}}`), 400, 6, 0, 0},
		{"metric name has a space", Options{}, auth(), []byte(`{"event":"metric","fields":{"metric_name":"a b","_value":1}}`), 400, 6, 0, 0},
		{"multi metric name starts with _", Options{}, auth(), []byte(okEvent + `{"event":"metric","fields":{"metric_name:ok":1,"metric_name:_bad":2}}`), 400, 6, 1, 0},
		{"multi metric name contains metric_name", Options{}, auth(), []byte(`{"event":"metric","fields":{"metric_name:a_metric_name":1}}`), 400, 6, 0, 0},
		{"metric name with dots and colons", Options{}, auth(), []byte(`{"event":"metric","fields":{"metric_name:a.b:c_1":1}}`), 200, 0, -1, 1},
		{"index not allowed", Options{Indexes: []string{"other"}}, auth(), []byte(okEvent), 400, 7, -1, 0},
		{"gzip without header", Options{}, auth(), gz(okEvent), 400, 6, -1, 0},
		{"bad gzip", Options{}, auth("Content-Encoding", "gzip"), []byte(okEvent), 400, 6, -1, 0},
		{"ack: channel missing", Options{UseACK: true}, auth(), []byte(okEvent), 400, 10, -1, 0},
		{"ack: channel invalid", Options{UseACK: true}, auth("X-Splunk-Request-Channel", "nope"), []byte(okEvent), 400, 11, -1, 0},
		{"ack: channel ok", Options{UseACK: true}, auth("X-Splunk-Request-Channel", testChan), []byte(okEvent), 200, 0, -1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t, tc.opts)
			r := do(t, http.MethodPost, s.URL()+"/services/collector", tc.hdr, tc.body)
			if r.status != tc.status || r.body["code"] != tc.code {
				t.Fatalf("got %d %v, want %d code %v", r.status, r.body, tc.status, tc.code)
			}
			n, has := r.body["invalid-event-number"]
			if (tc.evNum >= 0) != has || (has && n != tc.evNum) {
				t.Fatalf("invalid-event-number %v (present %v), want %v", n, has, tc.evNum)
			}
			if got := len(s.Events()); got != tc.accepted {
				t.Fatalf("%d events recorded, want %d", got, tc.accepted)
			}
			if _, has := r.body["ackId"]; has != (tc.opts.UseACK && tc.status == 200) {
				t.Fatalf("ackId presence %v in %v", has, r.body)
			}
		})
	}
}

func TestDecodedEvent(t *testing.T) {
	s := New(t, Options{})
	r := do(t, http.MethodPost, s.URL()+"/services/collector/event", auth("X-Splunk-Request-Channel", testChan), []byte(okEvent+okMulti))
	if r.status != 200 {
		t.Fatalf("status %d %v", r.status, r.body)
	}
	pts := s.Points()
	want := []Point{
		{Name: "cpu", Value: 1.5, TimeMs: 1700000000500, Dimensions: map[string]string{"core": "0"}, Host: "h", Index: "metrics"},
		{Name: "a", Value: 1, TimeMs: 1700000001000, Dimensions: map[string]string{"job": "x"}},
		{Name: "b", Value: -2e-3, TimeMs: 1700000001000, Dimensions: map[string]string{"job": "x"}},
	}
	if len(pts) != len(want) {
		t.Fatalf("points %+v", pts)
	}
	for i := range want {
		if pts[i].Name != want[i].Name || pts[i].Value != want[i].Value || pts[i].TimeMs != want[i].TimeMs ||
			pts[i].Host != want[i].Host || pts[i].Index != want[i].Index || len(pts[i].Dimensions) != len(want[i].Dimensions) {
			t.Errorf("point %d = %+v, want %+v", i, pts[i], want[i])
		}
	}
	if ev := s.Events()[0]; ev.Channel != testChan || ev.Multi {
		t.Errorf("event %+v", ev)
	}
}

func TestMaxContentLength(t *testing.T) {
	s := New(t, Options{MaxContentLength: 64})
	r := do(t, http.MethodPost, s.URL()+"/services/collector", auth(), []byte(okEvent))
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", r.status)
	}
	if st := s.Stats(); st.TooLarge != 1 || st.Rejected != 1 || st.Requests != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAckEndpoint(t *testing.T) {
	s := New(t, Options{UseACK: true})
	post := func() float64 {
		r := do(t, http.MethodPost, s.URL()+"/services/collector", auth("X-Splunk-Request-Channel", testChan), []byte(okEvent))
		return r.body["ackId"].(float64)
	}
	poll := func(ids string) map[string]any {
		r := do(t, http.MethodPost, s.URL()+"/services/collector/ack?channel="+testChan, auth(), []byte(`{"acks":`+ids+`}`))
		if r.status != 200 {
			t.Fatalf("ack poll: %d %v", r.status, r.body)
		}
		return r.body["acks"].(map[string]any)
	}
	if a, b := post(), post(); a != 0 || b != 1 {
		t.Fatalf("ackIds %v %v, want 0 1", a, b)
	}
	s.WithholdAcks(true)
	if got := poll("[0,1]"); got["0"] != false || got["1"] != false {
		t.Fatalf("withheld poll %v", got)
	}
	s.WithholdAcks(false)
	if got := poll("[0,1,7]"); got["0"] != true || got["1"] != true || got["7"] != false {
		t.Fatalf("poll %v", got)
	}
	if got := poll("[0]"); got["0"] != false {
		t.Fatalf("an ack is reported once, got %v", got)
	}
	if st := s.Stats(); st.Acked != 2 || st.AckPolls != 3 {
		t.Fatalf("stats %+v", st)
	}
	if r := do(t, http.MethodPost, s.URL()+"/services/collector/ack", auth(), []byte(`{"acks":[0]}`)); r.body["code"] != float64(CodeChannelMissing) {
		t.Fatalf("ack without channel: %v", r.body)
	}
}

func TestAckDisabled(t *testing.T) {
	s := New(t, Options{})
	r := do(t, http.MethodPost, s.URL()+"/services/collector/ack?channel="+testChan, auth(), []byte(`{"acks":[0]}`))
	if r.status != 400 || r.body["code"] != float64(CodeAckDisabled) {
		t.Fatalf("got %d %v, want 400 code 14", r.status, r.body)
	}
}

func TestHealth(t *testing.T) {
	s := New(t, Options{})
	for _, tc := range []struct {
		healthy bool
		status  int
		code    float64
	}{{true, 200, 17}, {false, 503, 18}} {
		s.SetHealthy(tc.healthy)
		r := do(t, http.MethodGet, s.URL()+"/services/collector/health", nil, nil)
		if r.status != tc.status || r.body["code"] != tc.code {
			t.Errorf("healthy=%v: %d %v", tc.healthy, r.status, r.body)
		}
	}
}

func TestFaults(t *testing.T) {
	var now atomic.Int64 // unix seconds; the handler reads it on another goroutine
	now.Store(1700000000)
	s := New(t, Options{Now: func() time.Time { return time.Unix(now.Load(), 0) }})
	s.FailNext(2, Busy())
	s.FailNext(1, Throttled("7"))
	s.FailNext(1, InvalidData(3))
	s.FailFor(time.Minute, InternalError())
	want := []struct {
		status int
		code   any
		retry  string
	}{{503, 9.0, ""}, {503, 9.0, ""}, {429, nil, "7"}, {400, 6.0, ""}, {500, 8.0, ""}, {500, 8.0, ""}}
	for i, w := range want {
		r := do(t, http.MethodPost, s.URL()+"/services/collector", auth(), []byte(okEvent))
		if r.status != w.status || r.body["code"] != w.code || r.header.Get("Retry-After") != w.retry {
			t.Fatalf("request %d: %d %v Retry-After %q, want %d %v %q", i, r.status, r.body, r.header.Get("Retry-After"), w.status, w.code, w.retry)
		}
		if w.code == 6.0 && r.body["invalid-event-number"] != 3.0 {
			t.Fatalf("invalid-event-number %v", r.body["invalid-event-number"])
		}
	}
	now.Add(60)
	if r := do(t, http.MethodPost, s.URL()+"/services/collector", auth(), []byte(okEvent)); r.status != 200 {
		t.Fatalf("after the period: %d %v", r.status, r.body)
	}
	if st := s.Stats(); st.Requests != 7 || st.Rejected != 6 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestWaitFor(t *testing.T) {
	s := New(t, Options{})
	done := make(chan error, 1)
	go func() {
		done <- s.WaitFor(context.Background(), func(st Stats) bool { return st.Accepted == 1 })
	}()
	do(t, http.MethodPost, s.URL()+"/services/collector", auth(), []byte(okEvent))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.WaitFor(ctx, func(st Stats) bool { return false }); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("WaitFor on a cancelled ctx = %v", err)
	}
}
