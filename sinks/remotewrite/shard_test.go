package remotewrite

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/promfwd/promfwd/scrape"
)

func seriesKey(ls []wireLabel) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "%s=%q,", l.Name, l.Value)
	}
	return b.String()
}

// groupKeyOf names a series' histogram/summary group (or the series itself).
func groupKeyOf(ls []wireLabel) string {
	var b strings.Builder
	for _, l := range ls {
		switch l.Name {
		case "le", "quantile":
		case "__name__":
			b.WriteString(familyName(l.Value) + ",")
		default:
			fmt.Fprintf(&b, "%s=%q,", l.Name, l.Value)
		}
	}
	return b.String()
}

// shardMap encodes in and returns the shard of every series it saw.
func shardMap(t *testing.T, s *Sink, in []scrape.Sample, into map[string]uint32) {
	t.Helper()
	enc, err := s.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range enc.Requests {
		for _, ts := range decodeBody(t, r.Body) {
			k := seriesKey(ts.Labels)
			if sh, ok := into[k]; ok && sh != r.Shard {
				t.Fatalf("series %s moved from shard %d to %d", k, sh, r.Shard)
			}
			into[k] = r.Shard
		}
	}
}

func shardTestBatch() (batch []scrape.Sample, groups [][]scrape.Sample) {
	hm := &scrape.Meta{Family: "http_duration_seconds", Type: scrape.TypeHistogram}
	sm := &scrape.Meta{Family: "rpc_seconds", Type: scrape.TypeSummary}
	for i := range 60 {
		inst := fmt.Sprintf("host-%02d", i)
		groups = append(groups, []scrape.Sample{smp("up", 1000, 1, "instance", inst)})
		groups = append(groups, []scrape.Sample{smp("cpu.usage", 1000, float64(i), "Core", "0", "instance", inst)})
		groups = append(groups, histogram(hm, 1000, float64(i), "instance", inst))
		var sg []scrape.Sample
		for _, q := range []string{"0.5", "0.99"} {
			s := smp("rpc_seconds", 1000, 0.1, "instance", inst, "quantile", q)
			s.Kind, s.Meta = scrape.KindSummaryQuantile, sm
			sg = append(sg, s)
		}
		sum := smp("rpc_seconds_sum", 1000, 4, "instance", inst)
		sum.Kind, sum.Meta = scrape.KindSummarySum, sm
		cnt := smp("rpc_seconds_count", 1000, 40, "instance", inst)
		cnt.Kind, cnt.Meta = scrape.KindSummaryCount, sm
		groups = append(groups, append(sg, sum, cnt))
	}
	for _, g := range groups {
		batch = append(batch, g...)
	}
	return batch, groups
}

func TestShardStability(t *testing.T) {
	const shards = 4
	batch, groups := shardTestBatch()

	ref := map[string]uint32{}
	shardMap(t, newTestEncoder(t, 1000, shards), batch, ref)
	if len(ref) != 60*(2+5+4) {
		t.Fatalf("saw %d series, want %d", len(ref), 60*11)
	}
	used := map[uint32]int{}
	byGroup := map[string]uint32{}
	for k, sh := range ref {
		used[sh]++
		var ls []wireLabel
		for _, part := range strings.Split(strings.TrimSuffix(k, ","), ",") {
			name, val, _ := strings.Cut(part, "=")
			ls = append(ls, wireLabel{name, strings.Trim(val, `"`)})
		}
		g := groupKeyOf(ls)
		if prev, ok := byGroup[g]; ok && prev != sh {
			t.Errorf("group %s spread over shards %d and %d", g, prev, sh)
		}
		byGroup[g] = sh
	}
	if len(used) != shards {
		t.Errorf("series use shards %v, want all %d", used, shards)
	}

	reversed := slices.Clone(groups)
	slices.Reverse(reversed)
	var flatReversed []scrape.Sample
	for _, g := range reversed {
		flatReversed = append(flatReversed, g...)
	}
	// Stale markers as the forwarder may build them: one series at a
	// time, without Meta, Kind or a precomputed hash.
	var stale []scrape.Sample
	for _, s := range batch {
		s.Value, s.Meta, s.Kind, s.Hash = math.Float64frombits(scrape.StaleNaN), nil, scrape.KindUntyped, 0
		s.TimestampMs = 2000
		stale = append(stale, s)
	}

	variants := map[string]func(*Sink, map[string]uint32){
		"same batch, new sink":  func(s *Sink, m map[string]uint32) { shardMap(t, s, batch, m) },
		"groups reversed":       func(s *Sink, m map[string]uint32) { shardMap(t, s, flatReversed, m) },
		"tiny requests":         func(s *Sink, m map[string]uint32) { shardMap(t, s, batch, m) },
		"each group alone":      func(s *Sink, m map[string]uint32) { eachAlone(t, s, groups, m) },
		"stale markers, single": func(s *Sink, m map[string]uint32) { eachAlone(t, s, singles(stale), m) },
	}
	for name, run := range variants {
		t.Run(name, func(t *testing.T) {
			max := 1000
			if name == "tiny requests" {
				max = 1
			}
			got := map[string]uint32{}
			run(newTestEncoder(t, max, shards), got)
			for k, sh := range ref {
				if g, ok := got[k]; !ok || g != sh {
					t.Errorf("series %s: shard %d (present %v), want %d", k, g, ok, sh)
				}
			}
		})
	}
}

func eachAlone(t *testing.T, s *Sink, groups [][]scrape.Sample, m map[string]uint32) {
	for _, g := range groups {
		shardMap(t, s, g, m)
	}
}

func singles(in []scrape.Sample) [][]scrape.Sample {
	out := make([][]scrape.Sample, len(in))
	for i := range in {
		out[i] = in[i : i+1]
	}
	return out
}

// TestIdentityIsSeriesHash: the encoder's series identity is
// scrape.SeriesHash of the final name and labels, computed or taken from
// Sample.Hash, so both routes agree.
func TestIdentityIsSeriesHash(t *testing.T) {
	cases := []struct {
		in         scrape.Sample
		name       string
		wantLabels scrape.Labels
	}{
		{smp("up", 1, 1, "Zone", "a", "job", "x"), "up", scrape.Labels{{Name: "Zone", Value: "a"}, {Name: "job", Value: "x"}}},
		{smp("my.metric", 1, 1, "a.b", "1", "c", ""), "my_metric", scrape.Labels{{Name: "a_b", Value: "1"}}},
		{smp("m", 1, 1, "z", "1", "a", "2"), "m", scrape.Labels{{Name: "a", Value: "2"}, {Name: "z", Value: "1"}}},
	}
	for _, tc := range cases {
		e := newEncoder(10, 1)
		if !e.resolve(&tc.in) {
			t.Fatalf("%s: not resolved", tc.in.Name)
		}
		want := scrape.SeriesHash(tc.name, tc.wantLabels)
		if got := e.hashLabels(false); got != want {
			t.Errorf("%s: hashLabels = %x, want SeriesHash %x", tc.in.Name, got, want)
		}
		if got := e.identity(&tc.in); got != want {
			t.Errorf("%s: identity = %x, want %x", tc.in.Name, got, want)
		}
	}
}
