package forwarder

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

func TestStateFileRoundTripAndDamage(t *testing.T) {
	s := savedState{Seq: 42, Dedupe: []byte("dedupe-bytes"), Sink: []byte{1, 2, 3}}
	b := s.marshal()
	got, err := unmarshalState(b)
	if err != nil || got.Seq != 42 || !bytes.Equal(got.Dedupe, s.Dedupe) || !bytes.Equal(got.Sink, s.Sink) {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", b[:len(b)-3]},
		{"flipped", func() []byte { c := bytes.Clone(b); c[10] ^= 1; return c }()},
		{"wrong magic", append([]byte("XXXX"), b[4:]...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := unmarshalState(tc.b); !errors.Is(err, errBadStateFile) {
				t.Fatalf("unmarshal = %v, want errBadStateFile", err)
			}
		})
	}
}

func TestWriteFileAtomicLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, stateFileName)
	for _, content := range []string{"first", "second"} {
		if err := writeFileAtomic(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Fatalf("file = %q, want %q", b, content)
		}
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temp file left behind: %v", err)
	}
}

func TestUnreadableStateFileStartsEmpty(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, stateFileName)
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := (&durableState{statePath: path, log: zap.NewNop()}).load(); ok {
		t.Fatal("garbage state file accepted")
	}
}

func TestDedupeSnapshotRestore(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Unix(1_700_000_000, 0))
	d := NewDedupe(time.Minute, clock)
	samples := []scrape.Sample{{Name: "a", Hash: 1, Value: 1}, {Name: "b", Hash: 2, Value: math.Inf(1)}, {Name: "c", Hash: 3, Value: -0.5}}
	d.Filter(samples)
	snap := d.Snapshot()

	clock.Advance(30 * time.Second)
	d2 := NewDedupe(time.Minute, clock)
	if err := d2.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if d2.Len() != 3 {
		t.Fatalf("restored %d series, want 3", d2.Len())
	}
	// Unchanged values sent 30s ago are not re-sent before resend_after.
	if out, skipped := d2.Filter(samples); len(out) != 0 || skipped != 3 {
		t.Fatalf("after restore: %d sent, %d skipped; want 0 sent", len(out), skipped)
	}
	// The heartbeat still fires by wall clock.
	clock.Advance(31 * time.Second)
	if out, _ := d2.Filter(samples); len(out) != 3 {
		t.Fatalf("after resend_after: %d sent, want 3", len(out))
	}
	for _, bad := range [][]byte{nil, []byte("PFDD"), snap[:len(snap)-1], append(bytes.Clone(snap), 0)} {
		if err := NewDedupe(time.Minute, clock).Restore(bad); err == nil {
			t.Errorf("Restore(%x) accepted a damaged snapshot", bad)
		}
	}
}

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
