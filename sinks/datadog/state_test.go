package datadog

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape"
)

// TestRestartKeepsDeltas: values 10, 15 before a restart, 22 and 30 after.
// With the snapshot restored the deltas are exactly 5, 7, 8 (sum 20 = 30-10):
// nothing lost across the restart, nothing counted twice.
func TestRestartKeepsDeltas(t *testing.T) {
	before := newHarness(t, nil, options{})
	before.push([]scrape.Sample{counter(10, before.clock.Now())})
	before.clock.Advance(15 * time.Second)
	before.push([]scrape.Sample{counter(15, before.clock.Now())})
	snap, err := before.sink.SnapshotState()
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		restore bool
		want    []float64
	}{
		{"restored", true, []float64{7, 8}},
		{"not restored loses the first delta", false, []float64{8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := newHarness(t, nil, options{})
			after.clock.Advance(15 * time.Second) // same timeline as before
			if tc.restore {
				if err := after.sink.RestoreState(snap); err != nil {
					t.Fatalf("RestoreState: %v", err)
				}
			}
			after.clock.Advance(15 * time.Second)
			after.push([]scrape.Sample{counter(22, after.clock.Now())})
			after.clock.Advance(15 * time.Second)
			after.push([]scrape.Sample{counter(30, after.clock.Now())})
			if got := after.values("requests_total"); !slices.Equal(got, tc.want) {
				t.Fatalf("deltas after restart %v, want %v", got, tc.want)
			}
		})
	}
	if got := before.values("requests_total"); !slices.Equal(got, []float64{5}) {
		t.Fatalf("deltas before restart %v", got)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	d := newDeltaTracker(time.Hour)
	now := t0
	d.mu.Lock()
	for i := range 100 {
		d.observe(uint64(i)*0x9e3779b97f4a7c15, float64(i)*1.5, now.UnixMilli()-int64(i), now.Add(-time.Duration(i)*time.Second))
	}
	d.observe(42, 1, 0, now.Add(-2*time.Hour)) // expired: not saved
	d.mu.Unlock()
	snap := d.snapshot(now)
	if !bytes.Equal(snap, d.snapshot(now)) {
		t.Fatal("snapshot is not deterministic")
	}
	r := newDeltaTracker(time.Hour)
	if err := r.restore(snap); err != nil {
		t.Fatal(err)
	}
	if r.len() != 100 {
		t.Fatalf("restored %d series, want 100", r.len())
	}
	for h, st := range r.series {
		if d.series[h] != st {
			t.Fatalf("series %x: restored %+v, want %+v", h, st, d.series[h])
		}
	}
}

func TestRestoreRejectsBadSnapshots(t *testing.T) {
	d := newDeltaTracker(time.Hour)
	d.mu.Lock()
	d.observe(1, 5, 1000, t0)
	d.mu.Unlock()
	good := d.snapshot(t0)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "malformed"},
		{"wrong magic", append([]byte("XXXX"), good[4:]...), "malformed"},
		{"future version", append(append([]byte(stateMagic), 2), good[5:]...), "unsupported version 2"},
		{"truncated", good[:len(good)-1], "malformed"},
		{"trailing bytes", append(append([]byte{}, good...), 0), "malformed"},
		{"huge count", append(append([]byte(stateMagic), stateVersion), 0xff, 0xff, 0xff, 0xff, 0x0f), "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newDeltaTracker(time.Hour)
			r.mu.Lock()
			r.observe(7, 1, 1, t0)
			r.mu.Unlock()
			err := r.restore(tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("restore = %v, want %q", err, tc.want)
			}
			if _, ok := r.series[7]; !ok || r.len() != 1 {
				t.Error("a failed restore changed the state")
			}
		})
	}
}

func FuzzRestore(f *testing.F) {
	d := newDeltaTracker(time.Hour)
	d.mu.Lock()
	d.observe(1, 5, 1000, t0)
	d.observe(2, 6, 2000, t0)
	d.mu.Unlock()
	f.Add(d.snapshot(t0))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newDeltaTracker(time.Hour)
		if err := r.restore(b); err != nil {
			return
		}
		// A restored state round-trips through its own snapshot.
		again := newDeltaTracker(time.Hour)
		if err := again.restore(r.snapshot(t0)); err != nil {
			t.Fatalf("snapshot of a restored state does not restore: %v", err)
		}
	})
}
