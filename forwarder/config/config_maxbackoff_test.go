package config

import (
	"strings"
	"testing"
	"time"
)

// TestSinkMaxBackoff: the common sink key max_backoff caps the runner's
// and the HTTP client's retry waits; it round-trips through Redacted.
func TestSinkMaxBackoff(t *testing.T) {
	const head = "server: { listen: \"\" }\nsources: [{ name: a, url: \"http://127.0.0.1:9100/metrics\" }]\nsinks:\n  - name: out\n    type: stdout\n"
	for _, tc := range []struct {
		name, line string
		want       time.Duration
		err        string
	}{
		{"default", "", 0, ""},
		{"set", "    max_backoff: 5s\n", 5 * time.Second, ""},
		{"too small", "    max_backoff: 500ms\n", 0, "sinks[0].max_backoff: must be at least 1s"},
		{"negative", "    max_backoff: -1s\n", 0, "sinks[0].max_backoff: invalid duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load("c.yaml", []byte(head+tc.line))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Sinks[0].Runner.RetryWaitMax; got != tc.want {
				t.Errorf("RetryWaitMax = %s, want %s", got, tc.want)
			}
			out, err := cfg.Redacted()
			if err != nil {
				t.Fatal(err)
			}
			if has := strings.Contains(string(out), "max_backoff: 5s"); has != (tc.want != 0) {
				t.Errorf("Redacted shows max_backoff: %t, want %t\n%s", has, tc.want != 0, out)
			}
		})
	}
}
