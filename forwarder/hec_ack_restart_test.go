package forwarder

import (
	"fmt"
	"testing"

	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// TestHECAckOutstandingAcrossRestart: with data_dir set and indexer
// acknowledgement on, a request HEC accepted but had not acked when the
// service stopped stays queued and, after the restart, is not posted again:
// the new process polls its saved ackId on the saved channel and marks it
// delivered once HEC confirms it.
func TestHECAckOutstandingAcrossRestart(t *testing.T) {
	t.Parallel()
	tg := newConstTarget(t, false, func(int) string { return "# TYPE ack_restart gauge\nack_restart{k=\"a\"} 1\nack_restart{k=\"b\"} 2\n" })
	rcv := hectest.New(t, hectest.Options{UseACK: true})
	rcv.WithholdAcks(true)
	yaml := fmt.Sprintf(`data_dir: %s
shutdown_timeout: 1s
server: {listen: ""}
dedupe: {enabled: true, resend_after: 1h}
sources:
  - {name: src, url: %s/metrics, interval: 1s, target_series: false}
sinks:
  - name: splunk
    type: hec
    url: %s
    token: %s
    flush_interval: 50ms
    ack: {enabled: true, poll_interval: 50ms, timeout: 1m}
`, t.TempDir(), tg.URL, rcv.URL(), hectest.DefaultToken)

	first := runFwd(t, yaml)
	awaitCond(t, "the request accepted and its ack polled", func() bool {
		st := rcv.Stats()
		return st.Accepted >= 1 && st.AckPolls >= 2
	})
	if err := first.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	accepted := rcv.Stats().Accepted
	if st := rcv.Stats(); st.Acked != 0 || st.Events != 2*accepted {
		t.Fatalf("before the restart: %+v, want %d requests of 2 events, none acked", st, accepted)
	}

	rcv.WithholdAcks(false)
	second := runFwd(t, yaml)
	success := func() float64 {
		return gatherValue(t, second.f.Registry(), "promfwd_sink_requests_total", map[string]string{"sink": "splunk", "outcome": "success"})
	}
	awaitCond(t, "the outstanding requests acked and released", func() bool {
		return rcv.Stats().Acked == accepted && success() == float64(accepted)
	})
	n, _, _ := tg.stats()
	awaitCond(t, "two more scrapes", func() bool { m, _, _ := tg.stats(); return m >= n+2 })
	if err := second.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := rcv.Stats(); st.Accepted != accepted || st.Events != 2*accepted {
		t.Errorf("after the restart the receiver has %d requests (%d events), want still %d: a request was posted again",
			st.Accepted, st.Events, accepted)
	}
	if got := second.logs.FilterMessageSnippet("posting the request again").Len(); got != 0 {
		t.Errorf("%d re-posts logged", got)
	}
}
