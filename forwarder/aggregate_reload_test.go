package forwarder

import (
	"fmt"
	"slices"
	"testing"
)

// aggReloadYAML is a durable remote-write sink with two rules over
// resetTarget's counters: rule 0 (total and increase of everything) stays
// the same, rule 1 is given by the caller.
func aggReloadYAML(dataDir, target, receiver, rule1 string) string {
	return fmt.Sprintf(`data_dir: %s
shutdown_timeout: 10s
server: { listen: "" }
sources:
  - name: app
    url: %s
    interval: 1s
    timeout: 1s
sinks:
  - name: prom
    type: remote_write
    url: %s
    flush_interval: 50ms
    resend_after: 0s
    aggregate:
      - match: agg_c
        interval: 2s
        without: [i, instance]
        outputs: [total, increase]
        keep_input: true
        max_lateness: 1500ms
      - %s
`, dataDir, target, receiver, rule1)
}

// aggPoints are the received points of one output series (name and label
// i), duplicates removed, by time.
func aggPoints(rcv *rwCapture, name, i string) [][2]float64 {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	seen := map[int64]bool{}
	var out [][2]float64
	for _, s := range rcv.got {
		if s.labels["__name__"] == name && s.labels["i"] == i && !seen[s.ts] {
			seen[s.ts] = true
			out = append(out, [2]float64{float64(s.ts), s.value})
		}
	}
	slices.SortFunc(out, func(a, b [2]float64) int { return int(a[0] - b[0]) })
	return out
}

// TestAggregateReload: a reload that leaves the sink unchanged keeps its
// aggregation state in memory, and a reload that changes one rule
// (rebuilding the durable sink on its checkpoint) keeps the unchanged
// rule's baselines, totals and open windows: across both, rule 0's total
// never dips or jumps (each window's increase equals the raw samples'
// rise, and the last total is their sum). The changed rule starts fresh:
// its total begins at its first window's increase, the first sample of
// each series being a baseline again.
func TestAggregateReload(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	tg := newResetTarget(t)
	rcv := newRWCapture(t)
	oldRule := `{match: agg_c, interval: 2s, by: [i], outputs: [total], keep_input: true, max_lateness: 1500ms}`
	newRule := `{match: agg_c, interval: 3s, by: [i], outputs: [total, increase], keep_input: true, max_lateness: 1500ms}`
	r := runFwd(t, aggReloadYAML(dataDir, tg.srv.URL, rcv.URL(), oldRule))
	const oldTotal = "agg_c:2s_by_i_total"
	awaitCond(t, "rule 1's total of i=0 to reach 5", func() bool {
		pts := aggPoints(rcv, oldTotal, "0")
		return len(pts) > 0 && pts[len(pts)-1][1] >= 5
	})

	// Reload with the same config: the sink and its state stay.
	r.f.mu.Lock()
	before := r.f.sinks["prom"]
	r.f.mu.Unlock()
	same, _ := loadRunConfig(t, aggReloadYAML(dataDir, tg.srv.URL, rcv.URL(), oldRule))
	if err := r.f.Reload(same); err != nil {
		t.Fatalf("Reload (unchanged): %v", err)
	}
	r.f.mu.Lock()
	after := r.f.sinks["prom"]
	r.f.mu.Unlock()
	if after != before || after.stages != before.stages {
		t.Fatal("an unchanged sink was rebuilt by the reload")
	}
	n := len(aggPoints(rcv, "agg_c:2s_without_i_instance_total", ""))
	awaitCond(t, "2 more windows", func() bool { return len(aggPoints(rcv, "agg_c:2s_without_i_instance_total", "")) >= n+2 })

	// Reload with rule 1 changed: the sink is rebuilt on its checkpoint.
	changed, _ := loadRunConfig(t, aggReloadYAML(dataDir, tg.srv.URL, rcv.URL(), newRule))
	if err := r.f.Reload(changed); err != nil {
		t.Fatalf("Reload (rule 1 changed): %v", err)
	}
	const newTotal, newInc = "agg_c:3s_by_i_total", "agg_c:3s_by_i_increase"
	awaitCond(t, "3 windows of the changed rule", func() bool { return len(aggPoints(rcv, newTotal, "0")) >= 3 })
	frozeAt := tg.freeze()
	pollFor(t, 3*runWait, "a window after the freeze", func() bool {
		inc, _, _ := aggReceived(rcv)
		return len(inc) > 0 && int64(inc[len(inc)-1][0]) > frozeAt.UnixMilli()+3000
	})
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}

	// Rule 0: continuous through both reloads.
	inc, tot, raw := aggReceived(rcv)
	exact := map[int64]float64{}
	for _, pts := range raw {
		for i := 1; i < len(pts); i++ {
			d := pts[i][1] - pts[i-1][1]
			if d < 0 {
				d = pts[i][1]
			}
			exact[(int64(pts[i][0])/2000+1)*2000] += d
		}
	}
	sumInc := 0.0
	for i, p := range inc {
		sumInc += p[1]
		if p[1] != exact[int64(p[0])] {
			t.Errorf("rule 0, window ending %.0f: increase %v, raw samples rose by %v", p[0], p[1], exact[int64(p[0])])
		}
		if i >= len(tot) || tot[i][0] != p[0] {
			t.Fatalf("rule 0: total and increase windows differ at %.0f", p[0])
		}
		if tot[i][1] != sumInc {
			t.Errorf("rule 0, window ending %.0f: total %v, want the increases so far %v (a dip or a jump)", p[0], tot[i][1], sumInc)
		}
	}
	sumExact := 0.0
	for _, v := range exact {
		sumExact += v
	}
	if sumInc == 0 || sumInc != sumExact {
		t.Errorf("rule 0: sum of increase %v, raw increase %v: want equal and > 0", sumInc, sumExact)
	}

	// Rule 1 after the change: fresh, its total the running sum of its own
	// increases from 0, below what the old rule had reached.
	oldPts := aggPoints(rcv, oldTotal, "0")
	for _, i := range []string{"0", "1"} {
		nt, ni := aggPoints(rcv, newTotal, i), aggPoints(rcv, newInc, i)
		if len(nt) < 3 || len(nt) != len(ni) {
			t.Fatalf("changed rule, i=%s: %d total and %d increase points", i, len(nt), len(ni))
		}
		running := 0.0
		for k := range nt {
			running += ni[k][1]
			if nt[k][0] != ni[k][0] || nt[k][1] != running {
				t.Errorf("changed rule, i=%s, window ending %.0f: total %v, want the running sum of its increases %v", i, nt[k][0], nt[k][1], running)
			}
		}
	}
	if first, last := aggPoints(rcv, newTotal, "0")[0][1], oldPts[len(oldPts)-1][1]; first >= last {
		t.Errorf("changed rule's first total %v is not below the old rule's last %v: state carried over", first, last)
	}
	t.Logf("rule 0: %d windows, total %v = raw increase %v; old rule 1 reached %v, the changed rule started at %v",
		len(inc), sumInc, sumExact, oldPts[len(oldPts)-1][1], aggPoints(rcv, newTotal, "0")[0][1])
}
