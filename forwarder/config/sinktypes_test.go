package config

import (
	"bytes"
	"strings"
	"testing"

	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/stdout"
)

func TestSinkTypesAreWired(t *testing.T) {
	for _, name := range SinkTypes() {
		st, ok := lookupSinkType(name)
		if !ok {
			t.Errorf("SinkTypes lists %q but lookupSinkType does not know it", name)
			continue
		}
		cfg := st.newConfig()
		err := st.validate(cfg)
		// Sinks with a destination must insist on it; stdout needs nothing.
		if name == "stdout" && err != nil {
			t.Errorf("%s: DefaultConfig does not validate: %v", name, err)
		}
		if name != "stdout" && (err == nil || !strings.Contains(err.Error(), "required")) {
			t.Errorf("%s: DefaultConfig validates without a destination: %v", name, err)
		}
	}
	if _, ok := lookupSinkType("nope"); ok {
		t.Error("unknown type found")
	}
}

func TestBuildSink(t *testing.T) {
	cfg, err := load("b.yaml", []byte("sources: [{name: a, url: 'http://a/'}]\nsinks: [{name: out, type: stdout}]\n"), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.Sinks[0]
	var buf bytes.Buffer
	sc.Settings.(*stdout.Config).Writer = &buf
	s, err := BuildSink(sc, sinks.Settings{Name: sc.Name})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*stdout.Sink); !ok {
		t.Errorf("BuildSink returned %T", s)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}

	for _, c := range []struct {
		name string
		sc   SinkConfig
		want string
	}{
		{"unknown type", SinkConfig{Name: "x", Type: "carrier_pigeon"}, `sink x: unknown type "carrier_pigeon" (known types: hec, datadog, remote_write, stdout)`},
		{"settings of another type", SinkConfig{Name: "y", Type: "stdout", Settings: &struct{}{}}, "sink y: settings are *struct {}, want *stdout.Config"},
		{"no settings", SinkConfig{Name: "z", Type: "stdout"}, "sink z: settings are <nil>, want *stdout.Config"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := BuildSink(c.sc, sinks.Settings{Name: c.sc.Name})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want %q", err, c.want)
			}
		})
	}
}
