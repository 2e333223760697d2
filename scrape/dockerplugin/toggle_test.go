package dockerplugin

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestToggle(t *testing.T) {
	errBoom := errors.New("boom")
	type step struct {
		call        string // "start" or "stop"
		wantErr     string
		wantEnabled bool
	}
	cases := []struct {
		name       string
		startErr   error
		stopErr    error
		steps      []step
		wantStarts int
		wantStops  int
	}{
		{name: "starts disabled; stop is a no-op", steps: []step{{call: "stop"}}},
		{name: "start stop start", steps: []step{
			{call: "start", wantEnabled: true}, {call: "stop"}, {call: "start", wantEnabled: true},
		}, wantStarts: 2, wantStops: 1},
		{name: "repeated calls do not call back", steps: []step{
			{call: "start", wantEnabled: true}, {call: "start", wantEnabled: true}, {call: "stop"}, {call: "stop"},
		}, wantStarts: 1, wantStops: 1},
		{name: "failed start stays disabled and may be retried", startErr: errBoom, steps: []step{
			{call: "start", wantErr: "dockerplugin: start metrics: boom"}, {call: "start", wantErr: "boom"},
		}, wantStarts: 2},
		{name: "failed stop still disables", stopErr: errBoom, steps: []step{
			{call: "start", wantEnabled: true}, {call: "stop", wantErr: "dockerplugin: stop metrics: boom"}, {call: "stop"},
		}, wantStarts: 1, wantStops: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var starts, stops int
			var tg *Toggle
			tg = NewToggle(
				func(context.Context) error {
					starts++
					if !tg.Enabled() {
						t.Error("onStart ran with Enabled() == false")
					}
					return tc.startErr
				},
				func(context.Context) error {
					stops++
					if tg.Enabled() {
						t.Error("onStop ran with Enabled() == true")
					}
					return tc.stopErr
				},
			)
			if tg.Enabled() {
				t.Fatal("new Toggle is enabled")
			}
			for i, s := range tc.steps {
				f := tg.StartMetrics
				if s.call == "stop" {
					f = tg.StopMetrics
				}
				err := f(t.Context())
				if (s.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), s.wantErr)) {
					t.Errorf("step %d %s: err = %v, want %q", i, s.call, err, s.wantErr)
				}
				if s.wantErr != "" && !errors.Is(err, errBoom) {
					t.Errorf("step %d %s: %v does not wrap the callback's error", i, s.call, err)
				}
				if tg.Enabled() != s.wantEnabled {
					t.Errorf("step %d %s: Enabled = %v, want %v", i, s.call, tg.Enabled(), s.wantEnabled)
				}
			}
			if starts != tc.wantStarts || stops != tc.wantStops {
				t.Errorf("callbacks: starts=%d stops=%d, want %d %d", starts, stops, tc.wantStarts, tc.wantStops)
			}
		})
	}
}

func TestToggleNilCallbacks(t *testing.T) {
	tg := NewToggle(nil, nil)
	if err := tg.StartMetrics(t.Context()); err != nil || !tg.Enabled() {
		t.Fatalf("start: %v, enabled %v", err, tg.Enabled())
	}
	if err := tg.StopMetrics(t.Context()); err != nil || tg.Enabled() {
		t.Fatalf("stop: %v, enabled %v", err, tg.Enabled())
	}
}
