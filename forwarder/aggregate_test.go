package forwarder

import (
	"testing"
	"time"

	"github.com/promfwd/promfwd/forwarder/config"
)

// TestSinkLateness: a rule's default max_lateness is the longest interval
// of the sources that feed its sink (all sinks when a source names none).
func TestSinkLateness(t *testing.T) {
	cfg := &config.Config{Sources: []config.SourceConfig{
		{Name: "fast", Interval: 5 * time.Second},                                  // every sink
		{Name: "slow", Interval: time.Hour, Sinks: []string{"splunk"}},             // only splunk
		{Name: "mid", Interval: time.Minute, Sinks: []string{"datadog", "splunk"}}, // both
	}}
	for sink, want := range map[string]time.Duration{"splunk": time.Hour, "datadog": time.Minute, "other": 5 * time.Second} {
		if got := sinkLateness(sink, cfg); got != want {
			t.Errorf("sinkLateness(%s) = %s, want %s", sink, got, want)
		}
	}
}
