package forwarder

import (
	"strings"
	"testing"

	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// TestReloadDurableSinkKeepsQueue: with data_dir set, a reload that changes
// a sink's settings (here: the wrong HEC token fixed by SIGHUP, the usual
// reason) rebuilds the sink on its existing disk queue. Everything queued
// while the token was refused, and everything scraped after, arrives once.
func TestReloadDurableSinkKeepsQueue(t *testing.T) {
	t.Parallel()
	rcv := hectest.New(t, hectest.Options{})
	tg := newSeqTarget(t, 0)
	dataDir := t.TempDir()
	wrong := durHECConfig(dataDir, tg.srv.URL+"/metrics", rcv.URL(), "")
	wrong = strings.Replace(wrong, "token: "+hectest.DefaultToken, "token: not-the-token", 1)
	r := runFwd(t, wrong)

	awaitCond(t, "3 scrapes queued behind the refused token", func() bool {
		got, _, _ := queuedSamples(t, dataDir, "splunk")
		return got >= 3
	})
	if n := len(rcv.Points()); n != 0 {
		t.Fatalf("receiver accepted %d points with the wrong token", n)
	}

	fixed, _ := loadRunConfig(t, durHECConfig(dataDir, tg.srv.URL+"/metrics", rcv.URL(), ""))
	if err := r.f.Reload(fixed); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	awaitCond(t, "2 more scrapes after the reload", func() bool {
		return len(distinctSeq(rcv.Points())) >= 5
	})
	n := tg.freeze(true)
	awaitCond(t, "every scraped value delivered", func() bool {
		return len(distinctSeq(rcv.Points())) == n
	})
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	seen := map[float64]int{}
	for _, p := range rcv.Points() {
		if p.Name == "seq_total" {
			seen[p.Value]++
		}
	}
	for v := 1; v <= n; v++ {
		if seen[float64(v)] != 1 {
			t.Errorf("seq_total=%d delivered %d times, want once", v, seen[float64(v)])
		}
	}
	for _, e := range r.logs.All() {
		if strings.Contains(entryText(e), hectest.DefaultToken) || strings.Contains(entryText(e), "not-the-token") {
			t.Errorf("token in log line: %s", entryText(e))
		}
	}
}
