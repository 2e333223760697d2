package forwarder

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// TestDurableDedupeSurvivesRestart: a value sent before a restart is not
// re-sent after it while unchanged (resend_after not passed).
func TestDurableDedupeSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	tg := newSeqTarget(t, 3)
	rcv := hectest.New(t, hectest.Options{})
	cfg := writeConfig(t, dir, durHECConfig(dataDir, tg.srv.URL, rcv.URL(), ""))
	tg.freeze(true) // the first scrape serves value 0 and that never changes

	c := startDurChild(t, cfg)
	awaitCond(t, "the first scrape delivered", func() bool { return rcv.Stats().Events == 4 })
	c.stop(t, syscall.SIGTERM)

	c = startDurChild(t, cfg)
	again := tg.servedAgain()
	awaitCond(t, "two scrapes after the restart", func() bool { return tg.servedAgain() >= again+2 })
	c.stop(t, syscall.SIGKILL)
	if got := rcv.Stats().Events; got != 4 {
		t.Fatalf("receiver got %d events, want the 4 of the first scrape only (unchanged values re-sent early)", got)
	}
}
