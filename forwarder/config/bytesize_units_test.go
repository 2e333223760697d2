package config

import (
	"strings"
	"testing"

	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/hec"
	"github.com/promfwd/promfwd/sinks/stdout"
)

// TestByteSizeKeysAcceptUnits: every byte-size key accepts the same units
// (issue 17 item 4: max_request_bytes: 16KiB was "expected an integer"),
// and `check` prints them back with their unit.
func TestByteSizeKeysAcceptUnits(t *testing.T) {
	cfg, err := Load("units.yaml", []byte(`
sources:
  - name: self
    url: http://127.0.0.1:9/metrics
    body_size_limit: 2MiB
sinks:
  - name: splunk
    type: hec
    url: http://127.0.0.1:8088
    token: t
    max_request_bytes: 16KiB
    max_queue_bytes: 16MiB
  - name: out
    type: stdout
    max_request_bytes: 1MB
`))
	if err != nil {
		t.Fatal(err)
	}
	h, ok := cfg.Sinks[0].Settings.(*hec.Config)
	if !ok {
		t.Fatalf("settings %T", cfg.Sinks[0].Settings)
	}
	if h.MaxRequestBytes != 16<<10 {
		t.Errorf("hec max_request_bytes = %d, want 16KiB", h.MaxRequestBytes)
	}
	if cfg.Sinks[0].Runner.MaxQueueBytes != 16<<20 {
		t.Errorf("max_queue_bytes = %d, want 16MiB", cfg.Sinks[0].Runner.MaxQueueBytes)
	}
	if o := cfg.Sinks[1].Settings.(*stdout.Config); o.MaxRequestBytes != sinks.ByteSize(1_000_000) {
		t.Errorf("stdout max_request_bytes = %d, want 1MB", o.MaxRequestBytes)
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "max_request_bytes: 16KiB") {
		t.Errorf("check output does not show 16KiB:\n%s", out)
	}
}
