package forwarder

import "testing"

// TestSourceFollowRedirects: follow_redirects defaults to true (as in
// Prometheus) and can be turned off per source.
func TestSourceFollowRedirects(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		{"", true},
		{"follow_redirects: true", true},
		{"follow_redirects: false", false},
	} {
		t.Run(tc.line, func(t *testing.T) {
			cfg, err := load("r.yaml", []byte(`
sources:
  - name: a
    url: http://127.0.0.1:9100/metrics
    `+tc.line+`
sinks:
  - { name: out, type: stdout }
`), testEnv(nil))
			if err != nil {
				t.Fatal(err)
			}
			h, err := cfg.Sources[0].HTTPClientConfig()
			if err != nil {
				t.Fatal(err)
			}
			if h.FollowRedirects != tc.want {
				t.Fatalf("FollowRedirects = %v, want %v", h.FollowRedirects, tc.want)
			}
		})
	}
}
