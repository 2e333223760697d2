package config

import (
	"testing"
	"time"
)

// TestEffectiveResendAfter: remote_write sends every scrape unless the sink
// sets its own resend_after; the other types keep dedupe.resend_after.
func TestEffectiveResendAfter(t *testing.T) {
	on := DedupeConfig{Enabled: true, ResendAfter: 4 * time.Minute}
	off := DedupeConfig{Enabled: false, ResendAfter: 4 * time.Minute}
	two := 2 * time.Minute
	for _, tc := range []struct {
		typ   string
		own   *time.Duration
		d     DedupeConfig
		want  time.Duration
		label string
	}{
		{"remote_write", nil, on, 0, "remote_write default: every scrape"},
		{"remote_write", &two, on, two, "remote_write opts in"},
		{"remote_write", &two, off, two, "own value wins even with dedupe off"},
		{"hec", nil, on, 4 * time.Minute, "hec keeps the global heartbeat"},
		{"datadog", nil, on, 4 * time.Minute, "datadog keeps the global heartbeat"},
		{"stdout", nil, off, 0, "dedupe disabled"},
	} {
		sc := SinkConfig{Type: tc.typ, ResendAfter: tc.own}
		if got := sc.EffectiveResendAfter(tc.d); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.label, got, tc.want)
		}
	}
}
