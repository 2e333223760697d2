package forwarder

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// TestDurableCorruptQueueOnStart: a queue file with a flipped byte in the
// middle and a torn record at its end (a crash mid-write): the service
// starts, logs what it skipped (file, offset, bytes), delivers the rest and
// keeps running.
func TestDurableCorruptQueueOnStart(t *testing.T) {
	t.Parallel()
	const width = 20
	perScrape := width + 1
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	tg := newSeqTarget(t, width)
	rcv := hectest.New(t, hectest.Options{})
	g := newGate(t, rcv.URL())
	g.down.Store(true)
	cfg := writeConfig(t, dir, durHECConfig(dataDir, tg.srv.URL, g.srv.URL, "    gzip: false\n"))

	c := startDurChild(t, cfg)
	time.Sleep(3500 * time.Millisecond)
	n := quiesce(t, tg, dataDir, perScrape)
	_, requests, maxPerRequest := queuedSamples(t, dataDir, "splunk")
	c.stop(t, syscall.SIGTERM)
	if requests < 2 {
		t.Fatalf("only %d requests queued; need 2 or more", requests)
	}

	segs, _ := filepath.Glob(filepath.Join(dataDir, "splunk", "queue", "*.seg"))
	var path string
	var data []byte
	for _, p := range segs { // the segment holding the requests
		if b, _ := os.ReadFile(p); len(b) > len(data) {
			path, data = p, b
		}
	}
	data[40] ^= 0xff                  // bit rot in the first request's body (after its 33-byte framing)
	data = append(data, data[:40]...) // a torn record: header and part of a payload
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	g.down.Store(false)
	tg.freeze(false)
	c = startDurChild(t, cfg)
	awaitCond(t, "new values after the restart", func() bool { return distinctSeq(rcv.Points())[float64(n+2)] })
	c.stop(t, syscall.SIGTERM)

	logs := c.stderr.String()
	if strings.Count(logs, `"msg":"disk queue: skipping corrupt or truncated data"`) != 2 ||
		!strings.Contains(logs, `"file":"`+path+`"`) || !strings.Contains(logs, `"offset":`) || !strings.Contains(logs, `"bytes":`) {
		t.Fatalf("want two skip lines naming %s with offset and bytes; log:\n%s", path, logs)
	}
	got := distinctSeq(rcv.Points())
	missing := 0
	for v := 1; v <= n; v++ {
		if !got[float64(v)] {
			missing++
		}
	}
	// One damaged request is lost (its scrapes), nothing else.
	if missing == 0 || missing*perScrape > maxPerRequest {
		t.Fatalf("%d of %d values missing; want those of the one damaged request (at most %d samples)", missing, n, maxPerRequest)
	}
	t.Logf("%d values queued in %d requests; after the damage %d value(s) lost, the rest delivered", n, requests, missing)
}
