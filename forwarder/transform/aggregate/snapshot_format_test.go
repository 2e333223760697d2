package aggregate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// TestSnapshotFormatUnchanged: the group store changed how groups are held,
// not the snapshot. testdata/snapshot_v2.bin holds the snapshots of
// formatStream's last steps as written by the code before the group store
// (commit 0b811a9, version 2); this code must write the same bytes, so that
// a checkpoint also loads in the previous release (a rollback).
func TestSnapshotFormatUnchanged(t *testing.T) {
	b, err := os.ReadFile("testdata/snapshot_v2.bin")
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		want, b = append(want, b[w:w+int(n)]), b[w+int(n):]
	}
	got := formatStream()
	if len(got) != len(want) {
		t.Fatalf("%d snapshots, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("snapshot %d: %d bytes differ from the previous code's %d", i, len(got[i]), len(want[i]))
		}
	}
	// The stream covers free group slots and refused series.
	a, _ := New(snapRules, Options{})
	if err := a.Restore(want[len(want)-1]); err != nil {
		t.Fatal(err)
	}
	refused := false
	for si := range uint32(a.rules[1].core.len()) {
		refused = refused || a.rules[1].core.at(si).group == -1
	}
	if len(a.rules[0].free) == 0 || !refused {
		t.Fatalf("the stream has no free group slot (%d) or no refused series", len(a.rules[0].free))
	}
}

// formatStream feeds a fixed stream (group churn through expiry, so free
// group slots; refusals by max_output_series; counter resets) to snapRules
// and returns the snapshot after each of its last steps. With no lateness
// one window is open at a time, so the bytes are deterministic.
func formatStream() [][]byte {
	a, _ := New(snapRules, Options{SeriesTTL: 20 * time.Second})
	base := int64(1_800_000_000_000)
	var snaps [][]byte
	for step := range 60 {
		now := base + int64(step)*1700
		var in []scrape.Sample
		for i, inst := range []string{"a", "b", "c", "d", "e"} {
			if (step+i)%4 == 0 {
				continue // absent this scrape
			}
			env := fmt.Sprintf("env=e%d", (step/15)*3+i%3)
			for j, name := range []string{"c1", "c2"} {
				v := float64((step*(i+j+1))%37 + i)
				in = append(in, smp(name, v, now, "instance="+inst, env))
			}
		}
		a.Apply(in, now)
		if step >= 50 {
			snaps = append(snaps, a.Snapshot())
		}
	}
	return snaps
}
