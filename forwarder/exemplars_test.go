package forwarder

import (
	"testing"

	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/remotewrite"
	"github.com/promfwd/promfwd/sinks/stdout"
)

func TestWantsExemplars(t *testing.T) {
	rw := func(send bool) *sinkState {
		cfg := remotewrite.DefaultConfig()
		cfg.URL = "http://127.0.0.1:1/api/v1/write"
		cfg.SendExemplars = send
		s, err := remotewrite.New(cfg, sinks.Settings{Name: "rw"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return &sinkState{name: "rw", sink: s}
	}
	out, err := stdout.New(stdout.DefaultConfig(), sinks.Settings{Name: "out"})
	if err != nil {
		t.Fatal(err)
	}
	std := &sinkState{name: "out", sink: out}
	cases := []struct {
		name   string
		routes []*sinkState
		want   bool
	}{
		{"no sinks", nil, false},
		{"stdout only", []*sinkState{std}, false},
		{"remote_write without send_exemplars", []*sinkState{std, rw(false)}, false},
		{"one remote_write with send_exemplars", []*sinkState{std, rw(false), rw(true)}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := wantsExemplars(c.routes); got != c.want {
				t.Fatalf("wantsExemplars = %v, want %v", got, c.want)
			}
		})
	}
}
