package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// envDockerdLog names dockerd's log file (set by .ci/run); plugin output
// goes there, so the tests can read promfwd's own shutdown line.
const envDockerdLog = "PROMFWD_DOCKERD_LOG"

// daemonMetric is a gauge the Docker daemon always exposes: one per scrape.
const daemonMetric = "engine_daemon_engine_info"

// controlledHEC is a hectest receiver whose outage the test switches on
// and off (its fault clock jumps past the outage to end it).
type controlledHEC struct {
	*hectest.Server
	offset atomic.Int64
}

func newControlledHEC(t *testing.T) *controlledHEC {
	c := &controlledHEC{}
	c.Server = hectest.New(t, hectest.Options{Now: func() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }})
	return c
}

func (c *controlledHEC) down() { c.FailFor(time.Hour, hectest.Busy()) }
func (c *controlledHEC) up()   { c.offset.Store(int64(2 * time.Hour)) }

// scrapeTimes returns the distinct times (ms) of daemonMetric samples the
// receiver accepted, sorted, and for each the arrival index of its first
// event.
func scrapeTimes(events []hectest.Event) (times []int64, arrival map[int64]int) {
	arrival = map[int64]int{}
	for i, p := range hectest.Points(events) {
		if p.Name != daemonMetric {
			continue
		}
		if _, ok := arrival[p.TimeMs]; !ok {
			arrival[p.TimeMs] = i
			times = append(times, p.TimeMs)
		}
	}
	slices.Sort(times)
	return times, arrival
}

// gaps reports every gap between consecutive scrape times longer than
// max, except the one while the plugin was off: from a scrape at most max
// before offFrom to one at most 2*max after offTo. So the scrapes just
// before a disable must be there too.
func gaps(times []int64, max time.Duration, offFrom, offTo time.Time) []string {
	var bad []string
	for i := 1; i < len(times); i++ {
		a, b := time.UnixMilli(times[i-1]), time.UnixMilli(times[i])
		off := a.After(offFrom.Add(-max)) && a.Before(offTo) && b.After(offFrom) && b.Before(offTo.Add(2*max))
		if b.Sub(a) <= max || off {
			continue
		}
		bad = append(bad, fmt.Sprintf("%s..%s (%v)", a.Format("15:04:05.000"), b.Format("15:04:05.000"), b.Sub(a)))
	}
	return bad
}

func firstPoints(events []hectest.Event, n int) []hectest.Point {
	ps := hectest.Points(events)
	return ps[:min(n, len(ps))]
}

// extractTarGz unpacks a release tarball into dir, as a user would.
func extractTarGz(t *testing.T, p, dir string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, fs.FileMode(h.Mode)&fs.ModePerm); err != nil {
				t.Fatal(err)
			}
			_ = os.Chmod(dst, fs.FileMode(h.Mode)&fs.ModePerm|modeBits(h.Mode))
		case tar.TypeReg:
			w, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fs.FileMode(h.Mode)&fs.ModePerm)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, tr); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("%s: unexpected entry %s type %c", p, h.Name, h.Typeflag)
		}
	}
}

func modeBits(m int64) fs.FileMode {
	if m&0o1000 != 0 {
		return fs.ModeSticky
	}
	return 0
}

// dirBytes sums the sizes of the regular files under dir.
func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// installPlugin creates NAME from the release's plugin tarball with the
// config and data mounts pointed at temp dirs, and removes it at cleanup.
func installPlugin(t *testing.T, tarball, name, cfgDir, dataDir string) {
	t.Helper()
	pdir := t.TempDir()
	extractTarGz(t, tarball, pdir)
	_, _ = tryCmd("docker", "plugin", "rm", "-f", name) // a leftover of a killed run
	cmd(t, "docker", "plugin", "create", name, pdir)
	t.Cleanup(func() {
		_, _ = tryCmd("docker", "plugin", "disable", "-f", name)
		if out, err := tryCmd("docker", "plugin", "rm", "-f", name); err != nil {
			t.Errorf("docker plugin rm %s: %v\n%s", name, err, out)
		}
	})
	cmd(t, "docker", "plugin", "set", name, "config.source="+cfgDir, "data.source="+dataDir)
}

// TestDockerPluginRealDaemon installs the release's plugin tarball into the
// real Docker daemon and checks, with a HEC receiver on 127.0.0.1 (the
// plugin shares the host's network):
//   - the daemon's own metrics (its /run/docker/metrics.sock) arrive;
//   - `docker plugin disable` stops promfwd cleanly within shutdown_timeout,
//     with the receiver down, persisting the queue into the data mount;
//   - after enable, the persisted queue is delivered once the receiver is
//     back: every 1 s scrape from first to last is there, except while the
//     plugin was disabled.
func TestDockerPluginRealDaemon(t *testing.T) {
	needDocker(t)
	a := artifacts(t)
	hec := newControlledHEC(t)
	cfgDir, dataDir := t.TempDir(), t.TempDir()
	const shutdownTimeout = 3 * time.Second
	cfg := fmt.Sprintf(`data_dir: /var/lib/promfwd
shutdown_timeout: %s
server: {listen: ""}
dedupe: {enabled: false}  # every scrape's samples, so a lost one shows
sources:
  - name: docker
    url: unix:///run/docker/metrics.sock
    interval: 1s
sinks:
  - name: hec
    type: hec
    url: %s
    token_file: /etc/promfwd/hec_token
    flush_interval: 200ms
    max_backoff: 1s
`, shutdownTimeout, hec.URL())
	if err := os.WriteFile(filepath.Join(cfgDir, "promfwd.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "hec_token"), []byte(hec.Token()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("promfwd-test-%d", os.Getpid())
	installPlugin(t, a.plugin, name, cfgDir, dataDir)

	cmd(t, "docker", "plugin", "enable", name)
	waitUntil(t, "the daemon's metrics at the receiver", func() bool {
		times, _ := scrapeTimes(hec.Events())
		return len(times) >= 3
	}, func() string {
		return fmt.Sprintf("receiver stats %+v, first points %v", hec.Stats(), firstPoints(hec.Events(), 3))
	})
	times, _ := scrapeTimes(hec.Events())
	t.Logf("delivered: %d events, %d scrapes of the daemon's metrics socket", len(hec.Events()), len(times))

	// Outage: samples queue up (on disk, in the data mount).
	hec.down()
	tDown := time.Now()
	waitUntil(t, "requests refused during the outage, over 3 scrape intervals", func() bool {
		return hec.Stats().Rejected >= 3 && time.Since(tDown) > 3*time.Second
	})
	rejectedBefore := hec.Stats().Rejected

	id := strings.TrimSpace(cmd(t, "docker", "plugin", "inspect", "-f", "{{.Id}}", name))
	stopsBefore := shutdownLines(id)
	tOff := time.Now()
	cmd(t, "docker", "plugin", "disable", name)
	took := time.Since(tOff)
	t.Logf("docker plugin disable (receiver down) took %v; shutdown_timeout %v", took.Round(time.Millisecond), shutdownTimeout)
	// dockerd SIGKILLs a plugin 10 s after SIGTERM; a clean exit is well
	// inside that, bounded by promfwd's shutdown_timeout.
	if took > shutdownTimeout+3*time.Second {
		t.Errorf("disable took %v: promfwd did not stop within shutdown_timeout %v", took, shutdownTimeout)
	}
	checkShutdownLogged(t, id, len(stopsBefore))
	queued := dirBytes(filepath.Join(dataDir, "hec"))
	if queued == 0 {
		t.Fatalf("nothing persisted under the data mount %s/hec after disable", dataDir)
	}
	t.Logf("queue persisted in the data mount: %d bytes", queued)

	cmd(t, "docker", "plugin", "enable", name)
	tOn := time.Now()
	waitUntil(t, "the restored queue retried against the (still down) receiver", func() bool {
		return hec.Stats().Rejected > rejectedBefore
	})
	arrivedBeforeUp := len(hec.Events())
	hec.up()
	tUp := time.Now()

	var bad []string
	waitUntil(t, "every scrape delivered after the receiver came back", func() bool {
		times, _ := scrapeTimes(hec.Events())
		if len(times) == 0 || time.UnixMilli(times[len(times)-1]).Before(tUp.Add(2*time.Second)) {
			return false
		}
		bad = gaps(times, 1500*time.Millisecond, tOff, tOn)
		return len(bad) == 0
	})
	times, arrival := scrapeTimes(hec.Events())
	var outage, outageLate int
	for _, ts := range times {
		if at := time.UnixMilli(ts); at.After(tDown) && at.Before(tOff) {
			outage++
			if arrival[ts] >= arrivedBeforeUp {
				outageLate++
			}
		}
	}
	t.Logf("delivered: %d events, %d scrapes; %d scrapes made during the outage before disable, %d of them delivered after re-enable; no gap over 1.5s except the disabled window %s..%s",
		len(hec.Events()), len(times), outage, outageLate, tOff.Format("15:04:05.000"), tOn.Format("15:04:05.000"))
	if outage == 0 || outageLate != outage {
		t.Errorf("scrapes queued during the outage: %d, delivered after disable/enable: %d; want all of them, at least one", outage, outageLate)
	}
	if len(bad) > 0 {
		t.Errorf("scrapes lost: gaps %v", bad)
	}
}

// shutdownLines are the daemon log's "shutdown complete" lines of plugin
// id, or nil when .ci/run did not say where the log is.
func shutdownLines(id string) []string {
	p := os.Getenv(envDockerdLog)
	if p == "" {
		return nil
	}
	data, _ := os.ReadFile(p)
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, `shutdown complete`) && strings.Contains(l, "plugin="+id) {
			out = append(out, l)
		}
	}
	return out
}

// checkShutdownLogged waits for promfwd's own "shutdown complete" of this
// run of plugin id in the daemon's log (dockerd logs the plugin's stderr).
func checkShutdownLogged(t *testing.T, id string, before int) {
	t.Helper()
	if os.Getenv(envDockerdLog) == "" {
		t.Logf("$%s unset: clean shutdown checked by timing only", envDockerdLog)
		return
	}
	var lines []string
	waitUntil(t, "promfwd's shutdown line in the daemon log", func() bool {
		lines = shutdownLines(id)
		return len(lines) > before
	})
	t.Logf("daemon log: %s", lines[len(lines)-1])
}
