package forwarder

// Durable delivery (issue 6), end to end: the service runs as a child
// process, is SIGKILLed while its receiver is down, restarted, and must
// deliver every scraped sample once the receiver is back.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/datadog/ddtest"
	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// durConfig: data_dir, dedupe, one source scraped every second and the
// sinks list sinks (YAML list items).
func durConfig(dataDir, target, sinks string) string {
	return fmt.Sprintf(`data_dir: %s
shutdown_timeout: 2s
server: { listen: "" }
dedupe: { enabled: true, resend_after: 1h }
sources:
  - name: seq
    url: %s
    target_series: false
    interval: 1s
    timeout: 1s
sinks:
%s`, dataDir, target, sinks)
}

// durHECConfig: durConfig with one hec sink behind url; extra is appended
// to the sink's keys.
func durHECConfig(dataDir, target, url, extra string) string {
	return durConfig(dataDir, target, fmt.Sprintf(`  - name: splunk
    type: hec
    url: %s
    token: %s
    flush_interval: 50ms
%s`, url, hectest.DefaultToken, extra))
}

// quiesce freezes the target and waits until every value it served is in
// the committed disk queue (nothing is delivered while the receiver is
// down), so a SIGKILL now tests recovery rather than the intake window.
func quiesce(t *testing.T, tg *seqTarget, dataDir string, perScrape int) int {
	t.Helper()
	n := tg.freeze(true)
	awaitCond(t, "a scrape after the freeze", func() bool { return tg.servedAgain() > 0 })
	awaitCond(t, fmt.Sprintf("%d samples committed on disk", n*perScrape), func() bool {
		got, _, _ := queuedSamples(t, dataDir, "splunk")
		return got == n*perScrape
	})
	return n
}

// TestDurableSIGKILLDuringOutage: the receiver is down while a target is
// scraped steadily; the service is SIGKILLed twice during the outage and
// restarted; the receiver comes back and the service is SIGKILLed once
// more while it drains the backlog. Every scraped value must arrive; the
// only duplicates allowed are the samples of the one request in flight at
// the kill during the drain (concurrency 1).
func TestDurableSIGKILLDuringOutage(t *testing.T) {
	t.Parallel()
	const width = 20 // gauges per scrape, besides seq_total
	perScrape := width + 1
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	tg := newSeqTarget(t, width)
	rcv := hectest.New(t, hectest.Options{})
	g := newGate(t, rcv.URL())
	g.down.Store(true)
	cfg := writeConfig(t, dir, durHECConfig(dataDir, tg.srv.URL, g.srv.URL, ""))

	var sizes []int
	for kill := 1; kill <= 2; kill++ {
		tg.freeze(false)
		c := startDurChild(t, cfg)
		time.Sleep(2500 * time.Millisecond) // let it scrape a few times
		n := quiesce(t, tg, dataDir, perScrape)
		samples, requests, _ := queuedSamples(t, dataDir, "splunk")
		sizes = append(sizes, requests)
		t.Logf("kill %d: %d values scraped, %d samples in %d requests on disk", kill, n, samples, requests)
		c.stop(t, syscall.SIGKILL)
	}
	if sizes[1] <= sizes[0] {
		t.Fatalf("queue did not grow on disk across the outage: %v requests", sizes)
	}

	// Receiver back, slowly; kill while the backlog drains.
	tg.freeze(false)
	c := startDurChild(t, cfg)
	time.Sleep(1500 * time.Millisecond)
	_, _, maxPerRequest := queuedSamples(t, dataDir, "splunk")
	g.delay.Store(int64(100 * time.Millisecond))
	g.down.Store(false)
	awaitCond(t, "delivery to start", func() bool { return rcv.Stats().Events > 0 })
	c.stop(t, syscall.SIGKILL)
	delivered := rcv.Stats().Events

	g.delay.Store(0)
	c = startDurChild(t, cfg)
	time.Sleep(1500 * time.Millisecond)
	n := tg.freeze(true)
	// The drain of a backlog by a child process: give a loaded CI machine
	// room (a generous deadline, not a timing assertion).
	pollFor(t, 3*runWait, "every value delivered", func() bool {
		return tg.servedAgain() > 0 && len(distinctSeq(rcv.Points())) == n
	})
	c.stop(t, syscall.SIGTERM)

	points := rcv.Points()
	seqs := distinctSeq(points)
	for v := 1; v <= n; v++ {
		if !seqs[float64(v)] {
			t.Errorf("value %d never arrived", v)
		}
	}
	counts := map[string]int{}
	for _, p := range points {
		counts[fmt.Sprintf("%s%v=%v", p.Name, p.Dimensions, p.Value)]++
	}
	dups := 0
	for _, k := range counts {
		dups += k - 1
	}
	if len(counts) != n*perScrape {
		t.Errorf("%d distinct samples arrived, want %d", len(counts), n*perScrape)
	}
	t.Logf("%d values (%d samples) scraped across 3 SIGKILLs; %d samples delivered before the last kill; %d duplicate samples (bound: one in-flight request = %d samples)",
		n, n*perScrape, delivered, dups, maxPerRequest)
	if dups > maxPerRequest {
		t.Errorf("%d duplicate samples, more than the one request in flight at the kill (%d samples)", dups, maxPerRequest)
	}
}

// distinctSeq is the set of seq_total values received.
func distinctSeq(points []hectest.Point) map[float64]bool {
	out := map[float64]bool{}
	for _, p := range points {
		if strings.HasPrefix(p.Name, "seq") {
			out[p.Value] = true
		}
	}
	return out
}

// TestDurableDatadogCountersAcrossKills: counters go to Datadog as deltas.
// With the receiver down the service is SIGKILLed at arbitrary moments
// (not quiesced: mid-scrape, mid-encode, mid-checkpoint are all fair) and
// restarted; once the receiver is back the deltas must add up to exactly
// the counter's increase: nothing lost, nothing counted twice.
func TestDurableDatadogCountersAcrossKills(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	tg := newSeqTarget(t, 0)
	rcv := ddtest.NewServer(ddtest.Options{APIKey: "dd-test-key-1"})
	t.Cleanup(rcv.Close)
	g := newGate(t, rcv.URL())
	g.down.Store(true)
	cfg := writeConfig(t, dir, fmt.Sprintf(`data_dir: %s
shutdown_timeout: 2s
server: { listen: "" }
dedupe: { enabled: true, resend_after: 1h }
sources:
  - name: seq
    url: %s
    target_series: false
    interval: 1s
    timeout: 1s
sinks:
  - name: dd
    type: datadog
    url: %s
    api_key: dd-test-key-1
    flush_interval: 50ms
`, dataDir, tg.srv.URL, g.srv.URL))

	for _, d := range []time.Duration{2300 * time.Millisecond, 2700 * time.Millisecond} {
		c := startDurChild(t, cfg)
		time.Sleep(d)
		c.stop(t, syscall.SIGKILL)
	}
	c := startDurChild(t, cfg)
	time.Sleep(1200 * time.Millisecond)
	g.down.Store(false)
	n := tg.freeze(true)
	awaitCond(t, "the deltas up to the last value", func() bool {
		return tg.servedAgain() > 0 && countSum(rcv) >= float64(n-1)
	})
	c.stop(t, syscall.SIGTERM)
	// The first observation has no delta: the sum is n-1.
	if got := countSum(rcv); got != float64(n-1) {
		t.Fatalf("deltas add up to %v, want %d (counter went 1..%d)", got, n-1, n)
	}

	// A clean restart with the receiver up continues from the baseline.
	tg.freeze(false)
	c = startDurChild(t, cfg)
	time.Sleep(2500 * time.Millisecond)
	n2 := tg.freeze(true)
	awaitCond(t, "the deltas after a clean restart", func() bool {
		return tg.servedAgain() > 0 && countSum(rcv) >= float64(n2-1)
	})
	c.stop(t, syscall.SIGTERM)
	if got := countSum(rcv); got != float64(n2-1) || n2 <= n {
		t.Fatalf("after a clean restart deltas add up to %v, want %d (counter went 1..%d)", got, n2-1, n2)
	}
	t.Logf("counter 1..%d across 2 SIGKILLs during the outage and a clean restart: deltas sum to %v", n2, countSum(rcv))
}

func countSum(rcv *ddtest.Server) float64 {
	sum := 0.0
	for _, s := range rcv.Series() {
		if s.Type != 1 || !strings.Contains(s.Metric, "seq") {
			continue
		}
		for _, p := range s.Points {
			if p.Value != nil {
				sum += *p.Value
			}
		}
	}
	return sum
}

// TestDurableQueueBoundDropsOldest: with the receiver down and a small
// max_queue_bytes, the oldest requests are dropped and counted, disk use
// stays at the bound, memory stays flat, and once the receiver is back
// exactly the newest scrapes arrive.
func TestDurableQueueBoundDropsOldest(t *testing.T) {
	t.Parallel()
	const width = 500 // about 75 KB per scrape as HEC JSON
	perScrape := width + 1
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	tg := newSeqTarget(t, width)
	rcv := hectest.New(t, hectest.Options{})
	g := newGate(t, rcv.URL())
	g.down.Store(true)
	const bound = 256 << 10
	yaml := durHECConfig(dataDir, tg.srv.URL, g.srv.URL, fmt.Sprintf("    max_queue_bytes: %d\n    gzip: false\n", bound))
	cfg := writeConfig(t, dir, strings.Replace(yaml, `listen: ""`, `listen: "127.0.0.1:0"`, 1))

	c := startDurChild(t, cfg)
	var rss []int
	for range 4 {
		time.Sleep(1500 * time.Millisecond)
		rss = append(rss, c.rssKiB(t))
	}
	n := tg.freeze(true)
	awaitCond(t, "a scrape after the freeze", func() bool { return tg.servedAgain() > 0 })
	time.Sleep(500 * time.Millisecond) // the last scrape's encode and checkpoint
	diskBytes := dirSize(t, filepath.Join(dataDir, "splunk", "queue"))
	queued, requests, _ := queuedSamples(t, dataDir, "splunk")
	dropped := int(childMetric(t, c, "promfwd_sink_dropped_samples_total", map[string]string{"reason": "queue_full", "sink": "splunk"}))
	// What promfwd scraped, not what the target served: on a loaded
	// machine a scrape can time out after the target has answered.
	// Scrapes after the freeze repeat value n and are skipped as unchanged.
	scraped := int(childMetric(t, c, "promfwd_source_samples_scraped_total", map[string]string{"source": "seq"})) -
		int(childMetric(t, c, "promfwd_sink_samples_skipped_unchanged_total", map[string]string{"source": "seq", "sink": "splunk"}))
	c.stop(t, syscall.SIGTERM)
	if scraped > n*perScrape || scraped%perScrape != 0 {
		t.Fatalf("promfwd submitted %d samples; the target served %d scrapes of %d", scraped, n, perScrape)
	}

	t.Logf("%d scrapes (%d samples) with the receiver down; queue holds %d samples in %d requests, %d bytes of files (bound %d); dropped %d samples; child RSS KiB every 1.5s: %v",
		n, n*perScrape, queued, requests, diskBytes, bound, dropped, rss)
	if dropped == 0 {
		t.Fatal("nothing dropped: the test did not reach the bound")
	}
	// Slack: the active segment (64 KiB here) and the request being
	// written, plus done records.
	if limit := int64(2 * bound); diskBytes > limit {
		t.Errorf("queue files hold %d bytes, over %d", diskBytes, limit)
	}
	if last, first := rss[len(rss)-1], rss[1]; last > first+32<<10 {
		t.Errorf("RSS grew from %d KiB to %d KiB while the queue was full", first, last)
	}

	g.down.Store(false)
	c = startDurChild(t, cfg)
	awaitCond(t, "the queued samples delivered", func() bool { return rcv.Stats().Events >= queued })
	c.stop(t, syscall.SIGTERM)
	// Delivered + dropped accounts for every sample; what arrived is the
	// newest scrapes, whole.
	if got := rcv.Stats().Events; got+dropped != scraped {
		t.Errorf("delivered %d + dropped %d = %d, want %d scraped", got, dropped, got+dropped, scraped)
	}
	var got []int
	for v := range distinctSeq(rcv.Points()) {
		got = append(got, int(v))
	}
	slices.Sort(got)
	if len(got) > 1 && got[0] == 1 && got[1] > 2 {
		// The first request was in flight (being retried) all along: in
		// flight is never evicted.
		got = got[1:]
	}
	switch {
	case scraped != n*perScrape:
		// A scrape timed out on a loaded machine: its value never
		// entered promfwd, so the newest values need not be contiguous.
		t.Logf("%d of %d served scrapes timed out; arrived values %v", n-scraped/perScrape, n, got)
	case len(got) == 0 || got[len(got)-1] != n || got[len(got)-1]-got[0]+1 != len(got):
		t.Errorf("arrived values %v: want the newest scrapes up to %d, contiguous", got, n)
	}
}

// childMetric reads one sample of the child's /metrics (the address is in
// its "self-metrics listening" log line).
func childMetric(t *testing.T, c *durChild, name string, labels map[string]string) float64 {
	t.Helper()
	m := regexp.MustCompile(`"url":"(http://[^"]+/metrics)"`).FindStringSubmatch(c.stderr.String())
	if m == nil {
		t.Fatal("child logged no self-metrics address")
	}
	v, ok := findSample(getSelfMetrics(t, m[1]), name, labels)
	if !ok {
		t.Fatalf("no %s%v in %s", name, labels, m[1])
	}
	return v
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return n
}
