package hec

import (
	"testing"
)

// TestEndpointURLs: the HEC paths join the base URL's path with net/url
// (a trailing slash or a collector path in the base is not doubled; a
// proxy prefix must end in /services/collector, see TestBaseURLRejectsOtherPaths), and
// the ack URL carries its channel as an encoded query.
func TestEndpointURLs(t *testing.T) {
	for _, tc := range []struct{ base, event, ack string }{
		{"http://127.0.0.1:8088", "http://127.0.0.1:8088/services/collector", "http://127.0.0.1:8088/services/collector/ack?channel=c+1%2F2"},
		{"http://127.0.0.1:8088/splunk/services/collector/", "http://127.0.0.1:8088/splunk/services/collector", "http://127.0.0.1:8088/splunk/services/collector/ack?channel=c+1%2F2"},
		{"http://127.0.0.1:8088/splunk/services/collector/event", "http://127.0.0.1:8088/splunk/services/collector", "http://127.0.0.1:8088/splunk/services/collector/ack?channel=c+1%2F2"},
	} {
		t.Run(tc.base, func(t *testing.T) {
			cfg := ackConfig(tc.base)
			s, _, _ := newTestSink(t, cfg)
			if s.eventURL != tc.event {
				t.Errorf("event URL %q, want %q", s.eventURL, tc.event)
			}
			if got := ackURL(s.ackBase, "c 1/2"); got != tc.ack {
				t.Errorf("ack URL %q, want %q", got, tc.ack)
			}
		})
	}
}
