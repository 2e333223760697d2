package aggregate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/promfwd/promfwd/scrape"
)

// TestGroupStoreAgainstMap drives a groupStore and a Go map with one random
// stream of adds and releases over a few input names, the keys' hashes
// forced to collide (a test hash with 1024 values, or one), and checks that
// every lookup agrees, that the packed keys survive the arena's
// compactions (and views into the arena taken before them, as output
// labels are, still read the same), that the name table counts its groups and drops unused
// names, and that the arena and the table shrink after churn.
func TestGroupStoreAgainstMap(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hash  func([]byte) uint64
		steps int
	}{
		{"colliding", func(b []byte) uint64 { return xxhash.Sum64(b) & 1023 }, 60_000},
		{"one_value", func([]byte) uint64 { return 42 }, 3_000}, // every lookup scans one cluster
		{"xxhash", nil, 60_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			s := groupStore{keyHash: tc.hash}
			want := map[string]int32{} // by appendKey's form
			var live []string
			var views [][2]string // arena views taken before compactions: [view, copy]
			compactions := 0
			for step := range tc.steps {
				grow := step < tc.steps*6/10 && rng.IntN(3) > 0 || step >= tc.steps*6/10 && rng.IntN(5) == 0
				if grow || len(live) == 0 {
					name := fmt.Sprintf("m%d", rng.IntN(8))
					ls := scrape.Labels{{Name: "g", Value: fmt.Sprint(rng.Uint64N(1 << 40))}}
					k := string(appendKey(nil, name, ls))
					if _, dup := want[k]; dup {
						continue
					}
					id, known := s.nameID(name)
					if known {
						ik := appendIDKey(nil, id, ls)
						if _, found := s.lookup(ik, s.hashOf(ik)); found {
							t.Fatalf("step %d: found absent key %q", step, k)
						}
					} else {
						id = s.addName(name)
					}
					ik := appendIDKey(nil, id, ls)
					want[k] = s.newGroup(ik, s.hashOf(ik))
					live = append(live, k)
				} else {
					i := rng.IntN(len(live))
					k := live[i]
					live[i] = live[len(live)-1]
					live = live[:len(live)-1]
					s.release(want[k])
					delete(want, k)
					if len(live) > 0 { // a view of a live key, as an output label holds one
						v := arenaString(s.key(want[live[rng.IntN(len(live))]]))
						views = append(views, [2]string{v, strings.Clone(v)})
					}
					before := len(s.keys)
					s.compact()
					if len(s.keys) < before {
						compactions++
					}
				}
				if step%499 == 0 || step == tc.steps-1 {
					checkGroups(t, step, &s, want)
					for _, v := range views {
						if v[0] != v[1] {
							t.Fatalf("step %d: a view of key %q now reads %q", step, v[1], v[0])
						}
					}
					views = views[:0]
				}
			}
			if compactions == 0 {
				t.Fatal("the arena was never compacted")
			}
			if live := len(s.keys) - s.dead; len(s.keys) > 2*live+1024 {
				t.Fatalf("arena of %d bytes for %d live: not compacted", len(s.keys), live)
			}
			if len(s.tab) > 16*8*len(want)+16 {
				t.Fatalf("table of %d entries for %d groups: not shrunk after churn", len(s.tab), len(want))
			}
		})
	}
}

func checkGroups(t *testing.T, step int, s *groupStore, want map[string]int32) {
	t.Helper()
	if s.numGroups() != len(want) {
		t.Fatalf("step %d: %d groups, want %d", step, s.numGroups(), len(want))
	}
	dead := len(s.keys)
	perName := map[string]int32{}
	for k, gi := range want {
		name, ls, _ := decodeKey(k)
		perName[name]++
		gotName, lb := s.groupName(gi)
		if got := string(appendString(nil, gotName)) + string(lb); got != k {
			t.Fatalf("step %d: group %d has key %q, want %q", step, gi, got, k)
		}
		id, ok := s.nameID(name)
		if !ok {
			t.Fatalf("step %d: name %q of group %d has no id", step, name, gi)
		}
		ik := appendIDKey(nil, id, ls)
		if got, ok := s.lookup(ik, s.hashOf(ik)); !ok || got != gi {
			t.Fatalf("step %d: lookup(%q) = %d, %v; want %d", step, k, got, ok, gi)
		}
		dead -= storedLen(len(ik))
	}
	if dead != s.dead {
		t.Fatalf("step %d: %d dead bytes counted, %d in the arena", step, s.dead, dead)
	}
	if len(s.nameIdx) != len(perName) {
		t.Fatalf("step %d: %d names in the table, %d in use", step, len(s.nameIdx), len(perName))
	}
	for name, n := range perName {
		if id, _ := s.nameID(name); s.names[id].name != name || s.names[id].refs != n {
			t.Fatalf("step %d: name %q: entry %+v, want %d groups", step, name, s.names[id], n)
		}
	}
}

// TestCollidingGroupHashesStayApart runs one stream through a rule whose
// group hash always collides and through one with the real hash: the
// outputs, and a snapshot restored into a colliding rule, must match.
func TestCollidingGroupHashesStayApart(t *testing.T) {
	rules := []Rule{{Match: `c`, Interval: 10 * time.Second, Without: []string{"s"}, Outputs: []string{"total", "count_series"}}}
	base := int64(1_800_000_000_000)
	collide := func(a *Aggregator) *Aggregator {
		a.rules[0].keyHash = func([]byte) uint64 { return 1 }
		return a
	}
	real, _ := New(rules, Options{})
	colliding, _ := New(rules, Options{})
	collide(colliding)
	var want, got []string
	for step := range 12 {
		now := base + int64(step)*5*sec
		var in []scrape.Sample
		for g := range 40 {
			for s := range 1 + g%3 {
				in = append(in, smp("c", float64(step*(g+s)), now, fmt.Sprintf("g=%d", g), fmt.Sprintf("s=%d", s)))
			}
		}
		want = append(want, render(real.Apply(in, now))...)
		got = append(got, render(colliding.Apply(in, now))...)
		if step == 6 { // restore into a colliding rule: the index is rebuilt from the keys
			snap := colliding.Snapshot()
			colliding, _ = New(rules, Options{})
			collide(colliding)
			if err := colliding.Restore(snap); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(want) < 40*2*4 || !slices.Equal(got, want) {
		t.Fatalf("colliding hashes: %d output lines, want %d identical to the real hash's", len(got), len(want))
	}
	if n := colliding.rules[0].numGroups(); n != 40 {
		t.Fatalf("%d groups, want 40", n)
	}
}

// TestGroupKeysCompactedOnExpiry churns groups through expiry: the arena
// is compacted (it stays near its live bytes), the survivors keep their
// identity and totals, and output label sets emitted before a compaction
// are not changed by it.
func TestGroupKeysCompactedOnExpiry(t *testing.T) {
	a, _ := New([]Rule{{Match: `c`, Interval: 10 * time.Second, By: []string{"g"}, Outputs: []string{"total"}, MaxOutputSeries: 1 << 20}},
		Options{SeriesTTL: 30 * time.Second})
	r := a.rules[0]
	base := int64(1_800_000_000_000)
	var kept []scrape.Sample // earlier outputs, checked after the compactions
	var keptText []string
	maxKeys := 0
	for step := range 40 {
		now := base + int64(step)*10*sec
		// 200 groups live for 3 windows each (then expire); "stay" lives throughout.
		in := []scrape.Sample{smp("c", float64(step), now, "g=stay")}
		for i := range 200 {
			in = append(in, smp("c", float64(step), now, fmt.Sprintf("g=churn-%d-%d", step/3, i)))
		}
		out := a.Apply(in, now)
		if step == 5 {
			kept, keptText = out, render(out)
		}
		for _, s := range out {
			if s.Labels.At(0).Value == "stay" && s.Value != float64(step-1) {
				t.Fatalf("step %d: stay total %v, want %d", step, s.Value, step-1)
			}
		}
		maxKeys = max(maxKeys, len(r.keys))
	}
	if !slices.Equal(render(kept), keptText) {
		t.Fatal("emitted label sets changed after later compactions")
	}
	// Live groups: at most the current 3 generations of 200 and stay.
	if r.numGroups() > 3*200+1 {
		t.Fatalf("%d groups live", r.numGroups())
	}
	keyLen := len(appendKey(nil, "c", scrape.Labels{{Name: "g", Value: "churn-10-100"}}))
	if maxKeys > 4*(3*200+1)*keyLen+1024 {
		t.Fatalf("arena reached %d bytes for at most %d live groups of ~%d bytes: not compacted", maxKeys, 3*200+1, keyLen)
	}
	if live := len(r.keys) - r.dead; live > (3*200+1)*keyLen {
		t.Fatalf("%d live key bytes", live)
	}
}
