package state

import (
	"bytes"
	"encoding/binary"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/promfwd/promfwd/scrape"
)

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestDedupeBytesPerSeries: what a dedupe keeps per series, measured on the
// heap: a hash, a value and a time (20 bytes) plus about 5.5 bytes of
// index while lookups need it (dropped after steady scrapes, and not built
// by a restore until a lookup needs it: dedupe_lookup.go). Entries of 24 bytes in an append-grown slice and a power-of-two
// index that doubled measured 34.5 bytes per series here.
func TestDedupeBytesPerSeries(t *testing.T) {
	const n = 200_000
	in := make([]scrape.Sample, n)
	for i := range in {
		in[i] = scrape.Sample{Name: "m", Value: float64(i), Hash: uint64(i+1) * 0x9E3779B97F4A7C15}
	}
	clock := clockwork.NewFakeClock()
	for _, tc := range []struct {
		name string
		fill func() *Dedupe
	}{
		{"scraped", func() *Dedupe {
			d := NewDedupe(5*time.Minute, clock)
			d.Filter(in)
			clock.Advance(time.Second)
			d.Filter(in) // a steady second scrape adds nothing
			return d
		}},
		{"steady", func() *Dedupe { // index dropped: dedupe_lookup.go
			d := NewDedupe(time.Minute, clock)
			for range 3 {
				d.Filter(in)
				clock.Advance(time.Minute)
			}
			return d
		}},
		{"restored", func() *Dedupe {
			src := NewDedupe(5*time.Minute, clock)
			src.Filter(in)
			snap := src.Snapshot()
			src = nil
			d := NewDedupe(5*time.Minute, clock)
			if err := d.Restore(snap); err != nil {
				t.Fatal(err)
			}
			return d
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := heapInUse()
			d := tc.fill()
			after := heapInUse()
			per := float64(after-before) / n
			t.Logf("%.1f bytes per series (entries %d B, index %d B)", per, d.ents.bytes(), d.idx.bytes())
			limit := 28.0
			if !d.indexed {
				limit = 21
			}
			if d.Len() != n || per > limit || tc.name == "steady" && d.indexed {
				t.Fatalf("dedupe holds %.1f bytes per series for %d series, indexed %v (want <= %.0f for %d)", per, d.Len(), d.indexed, limit, n)
			}
			runtime.KeepAlive(d)
		})
	}
}

// TestDedupeFilterOutput: Filter never copies more than it sends and never
// writes into the shared batch.
func TestDedupeFilterOutput(t *testing.T) {
	batch := func() []scrape.Sample {
		var in []scrape.Sample
		for i := range 6 {
			in = append(in, scrape.Sample{Name: "m", Value: 1, Hash: uint64(i + 1)})
		}
		return in
	}
	for _, tc := range []struct {
		name    string
		changed []int // samples whose value changes in the second scrape
		copied  bool  // a new backing array
	}{
		{"all changed: the batch itself", []int{0, 1, 2, 3, 4, 5}, false},
		{"none changed", nil, false},
		{"one run: a view of the batch", []int{2, 3}, false},
		{"run at the start", []int{0, 1}, false},
		{"two runs: an exact copy", []int{0, 4, 5}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDedupe(time.Hour, clockwork.NewFakeClock())
			in := batch()
			d.Filter(in)
			for _, i := range tc.changed {
				in[i].Value = 2
			}
			keep := bytes.Clone(sampleBytes(in))
			out, skipped := d.Filter(in)
			if len(out) != len(tc.changed) || skipped != len(in)-len(tc.changed) {
				t.Fatalf("sent %d skipped %d, want %d sent", len(out), skipped, len(tc.changed))
			}
			for k, i := range tc.changed {
				if out[k].Hash != in[i].Hash {
					t.Fatalf("out[%d] is series %d, want %d", k, out[k].Hash, in[i].Hash)
				}
			}
			if len(out) > 0 && len(out) < len(in) {
				if cap(out) != len(out) {
					t.Errorf("cap %d for %d samples: an append could write into the batch or waste room", cap(out), len(out))
				}
				if shared := &out[0] == &in[tc.changed[0]]; shared == tc.copied {
					t.Errorf("shares the batch: %v, want %v", shared, !tc.copied)
				}
			}
			if len(out) == len(in) && &out[0] != &in[0] {
				t.Error("nothing skipped but the batch was copied")
			}
			if !bytes.Equal(keep, sampleBytes(in)) {
				t.Error("Filter wrote into the batch")
			}
		})
	}
}

func sampleBytes(in []scrape.Sample) []byte {
	var b []byte
	for _, s := range in {
		b = binary.LittleEndian.AppendUint64(b, s.Hash)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Value))
	}
	return b
}

// TestDedupeRestoresNanosecondSnapshot: a snapshot with times in any
// nanosecond (as earlier builds wrote them) loads and decides as it did.
func TestDedupeRestoresNanosecondSnapshot(t *testing.T) {
	now := time.Unix(1_700_000_000, 123_456_789)
	clock := clockwork.NewFakeClockAt(now)
	const resend = time.Minute
	ents := []struct {
		hash   uint64
		sentAt time.Time
		sent   bool // at the next scrape with the same value
		kept   bool // after it (swept: older than 3 x resend_after)
	}{
		{1, now.Add(-30*time.Second - 7), false, true},
		{2, now.Add(-resend + 3*time.Millisecond), false, true},
		{3, now.Add(-resend - 3*time.Millisecond), true, true},
		{4, now.Add(-5 * resend), true, true}, // sent again, so kept
		{5, now.Add(-100 * 24 * time.Hour), true, true},
		{6, now.Add(10 * time.Second), false, true},
		{7, now.Add(-5 * resend), false, false}, // not scraped: swept
	}
	b := []byte("PFDD\x01")
	b = binary.AppendUvarint(b, uint64(len(ents)))
	for _, e := range ents {
		b = binary.LittleEndian.AppendUint64(b, e.hash)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(1))
		b = binary.AppendVarint(b, e.sentAt.UnixNano())
	}
	d := NewDedupe(resend, clock)
	if err := d.Restore(b); err != nil {
		t.Fatal(err)
	}
	var in []scrape.Sample
	for _, e := range ents[:6] {
		in = append(in, scrape.Sample{Name: "m", Value: 1, Hash: e.hash})
	}
	out, _ := d.Filter(in)
	got := map[uint64]bool{}
	for _, s := range out {
		got[s.Hash] = true
	}
	for _, e := range ents[:6] {
		if got[e.hash] != e.sent {
			t.Errorf("series %d sent %v ago: sent %v, want %v", e.hash, now.Sub(e.sentAt), got[e.hash], e.sent)
		}
	}
	if d.Len() != 6 {
		t.Errorf("%d series after the first sweep, want 6", d.Len())
	}
	// A saved state reads back the same (times are whole units).
	snap := d.Snapshot()
	r := NewDedupe(resend, clock)
	if err := r.Restore(snap); err != nil || !bytes.Equal(r.Snapshot(), snap) {
		t.Fatalf("snapshot round trip changed: err %v", err)
	}
}

// The time unit is fine enough to keep decisions (2^-27 of resend_after
// or better) and its range covers the 8 heartbeats the base can lag.
func TestSentClockUnits(t *testing.T) {
	for _, r := range []time.Duration{time.Millisecond, time.Second, 5 * time.Minute, time.Hour, 30 * 24 * time.Hour} {
		c := newSentClock(r)
		unit := time.Duration(1) << c.shift
		if span := unit * atRebaseTop; span <= 8*r || unit > max(1, r>>27) {
			t.Errorf("resend_after %v: unit %v, 2^31 units span %v", r, unit, span)
		}
	}
}

// TestDedupeFilterParts: the parts hold what Filter returns, in order; long
// runs are views of the batch, many short ones one exact copy.
func TestDedupeFilterParts(t *testing.T) {
	const n = 2000
	batch := func(changed func(i int) bool, v float64) []scrape.Sample {
		in := make([]scrape.Sample, n)
		for i := range in {
			in[i] = scrape.Sample{Name: "m", Value: 1, Hash: uint64(i + 1)}
			if changed(i) {
				in[i].Value = v
			}
		}
		return in
	}
	for _, tc := range []struct {
		name    string
		changed func(i int) bool
		parts   int // 0: none sent
		views   bool
	}{
		{"all changed", func(int) bool { return true }, 1, true},
		{"none changed", func(int) bool { return false }, 0, false},
		{"report samples unchanged", func(i int) bool { return i < n-5 || i == n-3 }, 2, true},
		{"long runs", func(i int) bool { return i%500 < 400 }, 4, true},
		{"short runs", func(i int) bool { return i%2 == 0 }, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clockwork.NewFakeClock()
			dp, df := NewDedupe(time.Hour, clock), NewDedupe(time.Hour, clock)
			first := batch(tc.changed, 1)
			dp.FilterParts(first)
			df.Filter(first)
			in := batch(tc.changed, 2)
			keep := bytes.Clone(sampleBytes(in))
			parts, skipped := dp.FilterParts(in)
			want, wantSkipped := df.Filter(in)
			var got []scrape.Sample
			for _, p := range parts {
				if cap(p) != len(p) {
					t.Errorf("part of %d samples has capacity %d", len(p), cap(p))
				}
				got = append(got, p...)
			}
			if skipped != wantSkipped || !bytes.Equal(sampleBytes(got), sampleBytes(want)) {
				t.Fatalf("parts hold %d samples (skipped %d), Filter %d (skipped %d)", len(got), skipped, len(want), wantSkipped)
			}
			if len(parts) != tc.parts {
				t.Fatalf("%d parts, want %d", len(parts), tc.parts)
			}
			if len(parts) > 0 {
				view := &parts[0][0] == &in[0]
				if view != tc.views {
					t.Errorf("first part is a view of the batch: %v, want %v", view, tc.views)
				}
			}
			if !bytes.Equal(keep, sampleBytes(in)) {
				t.Error("FilterParts wrote into the batch")
			}
		})
	}
}
