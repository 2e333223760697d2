package forwarder

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/sinks/datadog/ddtest"
)

// durDDConfig: durConfig with one datadog sink behind url.
func durDDConfig(dataDir, target, url string) string {
	return durConfig(dataDir, target, fmt.Sprintf(`  - name: dd
    type: datadog
    url: %s
    api_key: dd-test-key-1
    flush_interval: 50ms
`, url))
}

// startInProcess runs the service on yaml in this process; the returned
// func stops it (like SIGTERM) and waits.
func startInProcess(t *testing.T, yaml string, setup func(*Forwarder)) func() {
	t.Helper()
	cfg, err := config.Load("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(cfg, Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(f)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, nil) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// copyDir copies the regular files of a tree (a crash image of data_dir).
func copyDir(src, dst string) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, in)
		return err
	})
}

// TestDurableCrashBetweenEncodeAndCheckpoint takes a crash image of the
// data dir at the worst moment for Datadog deltas: requests carrying new
// deltas are on disk but the counter baselines that produced them are not
// saved yet. Started from that image, the service must discard those
// requests (the restored baselines re-derive them) so the deltas add up
// to the counter's increase exactly.
func TestDurableCrashBetweenEncodeAndCheckpoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	live, image := filepath.Join(dir, "live"), filepath.Join(dir, "image")
	tg := newSeqTarget(t, 0)
	down := newGate(t, "http://127.0.0.1:1")
	down.down.Store(true)

	taken := make(chan error)
	// A scrape job makes its samples durable with a checkpoint (issue
	// 21.6), so requests wait uncovered only when a full batch is encoded
	// before it: one sample per batch does that on every scrape.
	oneSampleBatches := strings.Replace(durDDConfig(live, tg.srv.URL, down.srv.URL),
		"flush_interval: 50ms", "flush_interval: 50ms\n    max_batch_samples: 1", 1)
	stop := startInProcess(t, oneSampleBatches, func(f *Forwarder) {
		d := f.sinks["dd"].durable
		d.BeforeCheckpoint = func() {
			saved, ok := d.Load()
			select {
			case <-taken:
			default:
				// Past the first delta (value 2), and requests beyond the
				// saved state are on disk.
				if ok && d.Queue().LastSeq() > saved.Seq && saved.Seq > 0 {
					taken <- copyDir(live, image)
					close(taken)
				}
			}
		}
	})
	select {
	case err := <-taken:
		if err != nil {
			t.Fatalf("crash image: %v", err)
		}
	case <-time.After(runWait):
		t.Fatal("no checkpoint with uncovered requests")
	}
	stop()

	rcv := ddtest.NewServer(ddtest.Options{APIKey: "dd-test-key-1"})
	t.Cleanup(rcv.Close)
	stop = startInProcess(t, durDDConfig(image, tg.srv.URL, rcv.URL()), nil)
	time.Sleep(1500 * time.Millisecond)
	n := tg.freeze(true)
	awaitCond(t, "the deltas up to the last value", func() bool {
		return tg.servedAgain() > 0 && countSum(rcv) >= float64(n-1)
	})
	stop()
	if got := countSum(rcv); got != float64(n-1) {
		t.Fatalf("deltas add up to %v, want %d (counter went 1..%d)", got, n-1, n)
	}
}

// TestDurableQueueGauges: backpressure is visible: requests and bytes on
// disk and in memory, and the oldest queued age, while the receiver is down.
func TestDurableQueueGauges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tg := newSeqTarget(t, 5)
	down := newGate(t, "http://127.0.0.1:1")
	down.down.Store(true)
	var f *Forwarder
	stop := startInProcess(t, durHECConfig(filepath.Join(dir, "data"), tg.srv.URL, down.srv.URL, ""), func(ff *Forwarder) { f = ff })
	defer stop()
	disk := map[string]string{"sink": "splunk", "medium": "disk"}
	mem := map[string]string{"sink": "splunk", "medium": "memory"}
	awaitCond(t, "two requests queued on disk", func() bool {
		return includedValue(t, f.Registry(), "promfwd_sink_queue_stored_requests", disk) >= 2
	})
	for _, c := range []struct {
		name   string
		labels map[string]string
	}{
		{"promfwd_sink_queue_bytes", disk},
		{"promfwd_sink_queue_bytes", mem},
		{"promfwd_sink_queue_stored_requests", mem},
		{"promfwd_sink_oldest_queued_age_seconds", map[string]string{"sink": "splunk"}},
	} {
		if v := includedValue(t, f.Registry(), c.name, c.labels); v <= 0 {
			t.Errorf("%s%v = %v (0: absent), want > 0", c.name, c.labels, v)
		}
	}
}
