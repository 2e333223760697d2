package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/scrape"
)

func TestStateFileRoundTripAndDamage(t *testing.T) {
	s := SavedState{Seq: 42, Dedupe: []byte("dedupe-bytes"), Sink: []byte{1, 2, 3}, Stages: []byte("windows")}
	b := s.marshal()
	got, err := unmarshalState(b)
	if err != nil || got.Seq != 42 || !bytes.Equal(got.Dedupe, s.Dedupe) || !bytes.Equal(got.Sink, s.Sink) || !bytes.Equal(got.Stages, s.Stages) {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	// A version 1 file (before aggregation) still loads: no stages section.
	v1 := append([]byte(stateMagic), 1)
	v1 = binary.LittleEndian.AppendUint64(v1, 7)
	for _, sec := range [][]byte{[]byte("dd"), {9}} {
		v1 = binary.LittleEndian.AppendUint32(v1, uint32(len(sec)))
		v1 = append(v1, sec...)
	}
	v1 = binary.LittleEndian.AppendUint32(v1, crc32.Checksum(v1, castagnoli))
	if got, err := unmarshalState(v1); err != nil || got.Seq != 7 || string(got.Dedupe) != "dd" || len(got.Stages) != 0 {
		t.Fatalf("version 1 file = %+v, %v", got, err)
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
	path := filepath.Join(dir, FileName)
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
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := Load(path, zap.NewNop()); ok {
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
