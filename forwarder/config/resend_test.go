package config

import (
	"reflect"
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

// TestRelabelRulesCompareEqual: a reload compares source and sink configs
// with reflect.DeepEqual to keep unchanged ones running; two loads of the
// same rules must compare equal, and a changed rule must not.
func TestRelabelRulesCompareEqual(t *testing.T) {
	doc := func(re string) []byte {
		return []byte(`sources:
  - name: a
    url: http://a:9100/metrics
    relabel_configs: [{source_labels: [__address__], target_label: host}]
    metric_relabel_configs: [{source_labels: [__name__], regex: "` + re + `", action: drop}]
sinks:
  - name: out
    type: stdout
    write_relabel_configs: [{regex: pod, action: labeldrop}]
`)
	}
	a, err := Load("a.yaml", doc("go_.*"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Load("a.yaml", doc("go_.*"))
	c, _ := Load("a.yaml", doc("process_.*"))
	if !reflect.DeepEqual(a.Sources[0], b.Sources[0]) || !sameSinkConfig(a.Sinks[0], b.Sinks[0]) {
		t.Error("the same rules loaded twice compare unequal: every reload would restart the source")
	}
	if reflect.DeepEqual(a.Sources[0], c.Sources[0]) {
		t.Error("a changed rule compares equal: a reload would keep the old rules")
	}
}

func sameSinkConfig(a, b SinkConfig) bool {
	a.Line, b.Line = 0, 0
	return reflect.DeepEqual(a, b)
}
