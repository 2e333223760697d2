package config

import (
	"strings"
	"testing"
)

func TestExpandString(t *testing.T) {
	env := testEnv(map[string]string{"A": "x", "PORT": "9100", "B_2": "y"})
	for _, c := range []struct {
		in, want string
		fromEnv  bool
		err      string
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "x", fromEnv: true},
		{in: "a${A}b${B_2}c", want: "axbyc", fromEnv: true},
		{in: "${MISSING:-dflt}", want: "dflt"},
		{in: "${MISSING:-}", want: ""},
		{in: "${EMPTY:-used}", want: "used"},
		{in: "${EMPTY}", want: "", fromEnv: true},
		{in: "${A:-unused}", want: "x", fromEnv: true},
		{in: "${MISSING:-a:b-c}", want: "a:b-c"},
		{in: "$$", want: "$"},
		{in: "$${A}", want: "${A}"},
		{in: "$$$${A}", want: "$${A}"},
		{in: "$$${A}", want: "$x", fromEnv: true},
		{in: "cost $5", want: "cost $5"},
		{in: "trailing $", want: "trailing $"},
		{in: "$A", want: "$A"},
		{in: "${MISSING}", err: "environment variable MISSING is not set"},
		{in: "${A", err: "unterminated ${"},
		{in: "${}", err: `invalid environment variable name ""`},
		{in: "${1A}", err: `invalid environment variable name "1A"`},
		{in: "${A B}", err: `invalid environment variable name "A B"`},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, fromEnv, err := expandString(c.in, env)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error = %v, want it to contain %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want || fromEnv != c.fromEnv {
				t.Errorf("got %q (fromEnv %v), want %q (fromEnv %v)", got, fromEnv, c.want, c.fromEnv)
			}
		})
	}
}

// A variable's value is data, never YAML: it cannot add keys or comments.
func TestExpandEnvNoInjection(t *testing.T) {
	env := testEnv(map[string]string{
		"EVIL":  "x\n    bearer_token: stolen # comment",
		"LABEL": "v # not a comment",
	})
	cfg, err := load("inject.yaml", []byte(`
sources:
  - name: a
    url: http://a/metrics
    labels:
      l: "${EVIL}"
      m: ${LABEL}
sinks:
  - { name: out, type: stdout }
`), env)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Sources[0]
	if s.BearerToken != "" || s.Labels["l"] != "x\n    bearer_token: stolen # comment" || s.Labels["m"] != "v # not a comment" {
		t.Errorf("expansion changed the document's structure: %+v", s)
	}
}
