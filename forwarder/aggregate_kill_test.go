package forwarder

// Aggregation state across SIGKILLs (issue 13): counters with resets are
// aggregated (total, increase) while the receiver is down; the service is
// SIGKILLed twice during the outage and once while it drains, and
// restarted. The received total must never go down, and every window's
// increase must equal the increase of the raw samples (sent alongside with
// keep_input) whose timestamps fall in it: nothing lost, nothing counted
// twice across restarts.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// resetTarget serves two counters that reset at different periods; the
// values follow the number of scrapes served (frozen: the last values).
type resetTarget struct {
	srv    *httptest.Server
	mu     sync.Mutex
	n      int
	frozen bool
	served [][2]float64 // values of each scrape served
}

func resetValues(n int) [2]float64 { return [2]float64{float64(n % 6), float64(3 * (n % 9))} }

func newResetTarget(t *testing.T) *resetTarget {
	rt := &resetTarget{}
	rt.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rt.mu.Lock()
		if !rt.frozen {
			rt.n++
		}
		v := resetValues(rt.n)
		rt.served = append(rt.served, v)
		rt.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE agg_c counter\nagg_c{i=\"0\"} %g\nagg_c{i=\"1\"} %g\n", v[0], v[1])
	}))
	t.Cleanup(rt.srv.Close)
	return rt
}

func (rt *resetTarget) freeze() time.Time {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.frozen = true
	return time.Now()
}

// trueIncrease is the increase over every value served (resets counted
// from 0), per the whole run.
func (rt *resetTarget) trueIncrease() float64 {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	sum := 0.0
	for i := 1; i < len(rt.served); i++ {
		for k := range 2 {
			d := rt.served[i][k] - rt.served[i-1][k]
			if d < 0 {
				d = rt.served[i][k]
			}
			sum += d
		}
	}
	return sum
}

func TestAggregateSIGKILLThroughOutage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	tg := newResetTarget(t)
	rcv := newRWCapture(t)
	g := newGate(t, strings.TrimSuffix(rcv.URL(), "/api/v1/write"))
	g.down.Store(true)
	cfg := writeConfig(t, dir, fmt.Sprintf(`data_dir: %s
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
    url: %s/api/v1/write
    flush_interval: 50ms
    resend_after: 0s
    aggregate:
      - match: agg_c
        interval: 2s
        without: [i, instance]
        outputs: [total, increase]
        keep_input: true
        max_lateness: 1500ms
`, dataDir, tg.srv.URL, g.srv.URL))

	scrapes := func() int { tg.mu.Lock(); defer tg.mu.Unlock(); return len(tg.served) }
	for kill := 1; kill <= 2; kill++ { // during the outage, after a few scrapes
		c := startDurChild(t, cfg)
		n := scrapes()
		awaitCond(t, "4 scrapes", func() bool { return scrapes() >= n+4 })
		c.stop(t, syscall.SIGKILL)
	}
	c := startDurChild(t, cfg)
	n := scrapes()
	awaitCond(t, "2 scrapes", func() bool { return scrapes() >= n+2 })
	g.down.Store(false)
	awaitCond(t, "delivery to start", func() bool { rcv.mu.Lock(); defer rcv.mu.Unlock(); return len(rcv.got) > 0 })
	c.stop(t, syscall.SIGKILL) // while the backlog drains
	c = startDurChild(t, cfg)
	time.Sleep(3 * time.Second)
	frozeAt := tg.freeze()
	// Windows after the freeze carry increase 0; wait for one that ends
	// 3s after it, so every window with a rise has been flushed.
	defer func() {
		if t.Failed() {
			rcv.mu.Lock()
			names := map[string]int{}
			for _, s := range rcv.got {
				names[fmt.Sprintf("%s{%s}@%d=%g", s.labels["__name__"], s.labels["i"], s.ts%100000, s.value)]++
			}
			rcv.mu.Unlock()
			t.Logf("received: %v (froze at %d)", names, frozeAt.UnixMilli())
		}
	}()
	pollFor(t, 3*runWait, "a window after the freeze", func() bool {
		inc, _, _ := aggReceived(rcv)
		return len(inc) > 0 && int64(inc[len(inc)-1][0]) > frozeAt.UnixMilli()+3000
	})
	c.stop(t, syscall.SIGTERM)

	inc, tot, raw := aggReceived(rcv)
	// The exact increase of the raw samples, by window end.
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
	sumInc, sumExact := 0.0, 0.0
	for i, p := range inc {
		sumInc += p[1]
		sumExact += exact[int64(p[0])]
		if p[1] != exact[int64(p[0])] {
			t.Errorf("window ending %.0f: increase %v, raw samples rose by %v", p[0], p[1], exact[int64(p[0])])
		}
		if i >= len(tot) || tot[i][0] != p[0] {
			t.Fatalf("total and increase windows differ at %.0f", p[0])
		}
		if i > 0 && tot[i][1] < tot[i-1][1] {
			t.Errorf("total went down at %.0f: %v -> %v", p[0], tot[i-1][1], tot[i][1])
		}
	}
	for e, v := range exact {
		if v != 0 && !slices.ContainsFunc(inc, func(p [2]float64) bool { return int64(p[0]) == e }) {
			t.Errorf("window ending %d rose by %v but no increase arrived", e, v)
		}
	}
	last := tot[len(tot)-1][1]
	if sumInc != sumExact || last != sumInc {
		t.Errorf("sum of increase %v, last total %v, raw increase %v: want all equal", sumInc, last, sumExact)
	}
	tg.mu.Lock()
	served := len(tg.served)
	tg.mu.Unlock()
	t.Logf("%d scrapes served, %d raw samples of agg_c{i=\"0\"} received; first window %.0f, last %.0f", served, len(raw["0"]), inc[0][0], inc[len(inc)-1][0])
	t.Logf("%d windows; sum of received increase %v = last total %v = raw increase %v; the target's increase over every scrape it served (killed processes' included) %v",
		len(inc), sumInc, last, sumExact, tg.trueIncrease())
	if sumInc == 0 {
		t.Fatal("nothing aggregated")
	}
}

// aggReceived is what the receiver holds, duplicates removed (a request
// in flight at a kill is sent again): increase and total points [ms,
// value] by time, and the raw samples per series. A repeated window with
// another value is a double count and fails the comparison later.
func aggReceived(rcv *rwCapture) (inc, tot [][2]float64, raw map[string][][2]float64) {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	seen := map[string]bool{}
	raw = map[string][][2]float64{}
	for _, s := range rcv.got {
		name := s.labels["__name__"]
		key := fmt.Sprintf("%s%v@%d=%v", name, s.labels, s.ts, s.value)
		if seen[key] {
			continue
		}
		seen[key] = true
		switch name {
		case "agg_c:2s_without_i_instance_increase":
			inc = append(inc, [2]float64{float64(s.ts), s.value})
		case "agg_c:2s_without_i_instance_total":
			tot = append(tot, [2]float64{float64(s.ts), s.value})
		case "agg_c":
			k := s.labels["i"]
			raw[k] = append(raw[k], [2]float64{float64(s.ts), s.value})
		}
	}
	byTime := func(a, b [2]float64) int { return int(a[0] - b[0]) }
	slices.SortFunc(inc, byTime)
	slices.SortFunc(tot, byTime)
	for k := range raw {
		slices.SortFunc(raw[k], func(a, b [2]float64) int { return int(a[0] - b[0]) })
	}
	return inc, tot, raw
}
