package state

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/promfwd/promfwd/scrape"
)

// refDedupe is the plain map model of Dedupe (what it did before entries
// were kept in arrival order): the positional shortcut must never change
// a decision.
type refDedupe struct {
	resendAfter time.Duration
	last        map[uint64][2]uint64 // hash -> bits, sentAt
	lastSweep   time.Time
}

func (r *refDedupe) filter(in []scrape.Sample, now time.Time) (sent []string, skipped int) {
	nowNs := now.UnixNano()
	horizon := nowNs - int64(r.resendAfter)
	for i := 0; i < len(in); {
		end := scrape.GroupEnd(in, i)
		send := false
		for j := i; j < end && !send; j++ {
			s := &in[j]
			e, ok := r.last[s.Hash]
			send = scrape.IsStaleNaN(s.Value) || !ok || e[0] != math.Float64bits(s.Value) || int64(e[1]) <= horizon
		}
		if send {
			for j := i; j < end; j++ {
				s := &in[j]
				if scrape.IsStaleNaN(s.Value) {
					delete(r.last, s.Hash)
				} else {
					r.last[s.Hash] = [2]uint64{math.Float64bits(s.Value), uint64(nowNs)}
				}
			}
			sent = append(sent, names(in[i:end])...)
		} else {
			skipped += end - i
		}
		i = end
	}
	if now.Sub(r.lastSweep) >= r.resendAfter {
		r.lastSweep = now
		cutoff := now.Add(-3 * r.resendAfter).UnixNano()
		for h, e := range r.last {
			if int64(e[1]) < cutoff {
				delete(r.last, h)
			}
		}
	}
	return sent, skipped
}

// orderBatch draws a batch from a universe of gauges and 3-bucket
// histograms: a random subset, usually in a stable order, sometimes
// shuffled, with a few values changed and a few stale markers.
func orderBatch(rng *rand.Rand, universe [][]scrape.Sample, values map[uint64]float64) []scrape.Sample {
	groups := slices.Clone(universe)
	switch rng.IntN(4) {
	case 0:
		rng.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
	case 1:
		groups = groups[rng.IntN(len(groups)):] // another source's tail
	}
	var out []scrape.Sample
	for _, g := range groups {
		if rng.IntN(10) == 0 {
			continue // absent this time
		}
		stale := rng.IntN(25) == 0
		for _, s := range g {
			switch {
			case stale:
				s.Value = math.Float64frombits(scrape.StaleNaN)
			case rng.IntN(5) == 0:
				values[s.Hash]++
				fallthrough
			default:
				s.Value = values[s.Hash]
			}
			out = append(out, s)
		}
	}
	return out
}

// modelUniverse is 60 series: gauges and every sixth a 3-bucket histogram.
func modelUniverse() [][]scrape.Sample {
	hm := &scrape.Meta{Family: "h", Type: scrape.TypeHistogram}
	var universe [][]scrape.Sample
	for i := range 60 {
		id := fmt.Sprint(i)
		if i%6 == 5 {
			var g []scrape.Sample
			for _, le := range []string{"1.0", "2.0", "+Inf"} {
				g = append(g, mk("h_bucket", 0, scrape.KindHistogramBucket, hm, "id", id, "le", le))
			}
			universe = append(universe, g)
			continue
		}
		universe = append(universe, []scrape.Sample{mk("g", 0, scrape.KindGauge, nil, "id", id)})
	}
	return universe
}

func TestDedupeMatchesMapModel(t *testing.T) {
	universe := modelUniverse()
	// unit scales the clock steps to resend_after (1s at 1m); now and
	// then the clock jumps far past the time base's range (sentClock).
	for _, resend := range []time.Duration{time.Minute, 30 * 24 * time.Hour} {
		unit := resend / 60
		for _, seed := range []uint64{1, 2, 3, 4} {
			t.Run(fmt.Sprintf("resend=%v/seed=%d", resend, seed), func(t *testing.T) {
				m := newModelRun(seed, resend)
				rng, clock, d, ref := m.rng, m.clock, m.d, m.ref
				for step := range 400 {
					m.step(t, step, universe)
					if d.Len() != len(ref.last) {
						t.Fatalf("step %d: Len %d, want %d", step, d.Len(), len(ref.last))
					}
					switch rng.IntN(20) {
					case 0:
						clock.Advance(time.Duration(rng.IntN(150)) * unit)
					case 1: // a restart: the snapshot must carry exactly the live entries
						r := NewDedupe(resend, clock)
						if err := r.Restore(d.Snapshot()); err != nil {
							t.Fatalf("step %d: restore: %v", step, err)
						}
						r.lastSweep = d.lastSweep
						d, m.d = r, r
					case 2:
						if rng.IntN(5) == 0 { // idle for 5 to 20 heartbeats
							clock.Advance(time.Duration(5+rng.IntN(16)) * resend)
						}
					default:
						clock.Advance(unit)
					}
				}
			})
		}
	}
}

// TestDedupeCompactsForgottenEntries: series that keep going stale and
// coming back must not grow the entry slice without bound between sweeps.
func TestDedupeCompactsForgottenEntries(t *testing.T) {
	clock := clockwork.NewFakeClock()
	d := NewDedupe(time.Hour, clock)
	stale := math.Float64frombits(scrape.StaleNaN)
	for i := range 3 * dedupeMinKeep {
		s := mk("churn", 1, scrape.KindGauge, nil, "id", fmt.Sprint(i))
		d.Filter([]scrape.Sample{s})
		s.Value = stale
		d.Filter([]scrape.Sample{s})
	}
	kept := mk("kept", 7, scrape.KindGauge, nil)
	d.Filter([]scrape.Sample{kept})
	if d.ents.len() > dedupeMinKeep+2 || d.Len() != 1 {
		t.Fatalf("%d entries held for %d live series", d.ents.len(), d.Len())
	}
	if out, skipped := d.Filter([]scrape.Sample{kept}); len(out) != 0 || skipped != 1 {
		t.Fatalf("unchanged value after compaction: sent %d skipped %d, want skipped", len(out), skipped)
	}
}

// refStaleness is the map model of Staleness.Observe.
func refStaleness(prev, cur []scrape.Sample) []string {
	in := map[uint64]bool{}
	for _, s := range cur {
		in[s.Hash] = true
	}
	var out []string
	for _, p := range prev {
		if !in[p.Hash] {
			out = append(out, p.Name+p.Labels.String())
			in[p.Hash] = true
		}
	}
	return out
}

func TestStalenessMatchesSetModel(t *testing.T) {
	var universe []scrape.Sample
	for i := range 40 {
		universe = append(universe, mk("g", 0, scrape.KindGauge, nil, "id", fmt.Sprint(i)))
	}
	rng := rand.New(rand.NewPCG(7, 0))
	st := NewStaleness()
	var prev []scrape.Sample
	for step := range 300 {
		cur := slices.Clone(universe)
		switch rng.IntN(6) {
		case 0:
			rng.Shuffle(len(cur), func(i, j int) { cur[i], cur[j] = cur[j], cur[i] })
		case 1:
			cur = slices.DeleteFunc(cur, func(scrape.Sample) bool { return rng.IntN(8) == 0 })
		case 2:
			cur = append(cur, cur[rng.IntN(len(cur))]) // a duplicate series
		case 3:
			cur = cur[:rng.IntN(len(cur))]
		case 4: // one series replaced by a new one: same length, other set
			cur[rng.IntN(len(cur))] = mk("new", 0, scrape.KindGauge, nil, "step", fmt.Sprint(step))
		}
		markers := st.Observe(cur, int64(step))
		want := refStaleness(prev, cur)
		if got := names(markers); !slices.Equal(got, want) {
			t.Fatalf("step %d: markers %v, want %v", step, got, want)
		}
		for _, m := range markers {
			if !scrape.IsStaleNaN(m.Value) || m.TimestampMs != int64(step) {
				t.Fatalf("step %d: bad marker %+v", step, m)
			}
		}
		prev = cur
	}
}

// TestDedupeWallClockJumps: the wall clock may step back (NTP) or far
// ahead; whatever the time base does then, every decision stays the map
// model's. (How many series are remembered may differ: a jump can move a
// sweep, which only drops series already expired.)
func TestDedupeWallClockJumps(t *testing.T) {
	universe := modelUniverse()
	const resend = time.Minute
	for _, seed := range []uint64{5, 6, 7} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			m := newModelRun(seed, resend)
			rng, clock := m.rng, m.clock
			for step := range 400 {
				m.step(t, step, universe)
				switch rng.IntN(12) {
				case 0: // back by up to 10 heartbeats
					clock.Advance(-time.Duration(rng.IntN(600)) * time.Second)
				case 1: // ahead by up to 30
					clock.Advance(time.Duration(rng.IntN(1800)) * time.Second)
				default:
					clock.Advance(time.Duration(rng.IntN(30)) * time.Second)
				}
			}
		})
	}
}

// modelRun drives a Dedupe and the map model with the same random batches.
type modelRun struct {
	rng    *rand.Rand
	clock  *clockwork.FakeClock
	d      *Dedupe
	ref    *refDedupe
	values map[uint64]float64
}

func newModelRun(seed uint64, resend time.Duration) *modelRun {
	clock := clockwork.NewFakeClock()
	return &modelRun{
		rng:    rand.New(rand.NewPCG(seed, 0)),
		clock:  clock,
		d:      NewDedupe(resend, clock),
		ref:    &refDedupe{resendAfter: resend, last: map[uint64][2]uint64{}},
		values: map[uint64]float64{},
	}
}

// step filters one random batch through both and fails on any difference.
func (m *modelRun) step(t *testing.T, step int, universe [][]scrape.Sample) {
	t.Helper()
	in := orderBatch(m.rng, universe, m.values)
	out, skipped := m.d.Filter(in)
	wantSent, wantSkipped := m.ref.filter(in, m.clock.Now())
	if got := names(out); skipped != wantSkipped || !slices.Equal(got, wantSent) {
		t.Fatalf("step %d: sent %v skipped %d, want %v skipped %d", step, got, skipped, wantSent, wantSkipped)
	}
}
