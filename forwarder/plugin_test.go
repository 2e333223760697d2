package forwarder

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promfwd/promfwd/scrape/dockerplugin"
	"github.com/promfwd/promfwd/sinks/hec/hectest"
	"github.com/promfwd/promfwd/sinks/stdout"
)

// daemonMetrics plays the Docker daemon's metrics socket (the one it
// bind-mounts into the plugin as /run/docker/metrics.sock).
type daemonMetrics struct {
	path string
	mu   sync.Mutex
	hits int
}

func newDaemonMetrics(t *testing.T, path string) *daemonMetrics {
	t.Helper()
	d := &daemonMetrics{path: path}
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		d.mu.Lock()
		d.hits++
		d.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, "# TYPE engine_daemon_engine_info gauge\nengine_daemon_engine_info{version=\"28.2.2\"} 1\n"+
			"# TYPE engine_daemon_container_states_containers gauge\nengine_daemon_container_states_containers{state=\"running\"} 3\n")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return d
}

func (d *daemonMetrics) scrapes() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hits
}

// daemonClient talks to the plugin socket the way dockerd does.
type daemonClient struct {
	c *http.Client
}

func newDaemonClient(t *testing.T, socket string) *daemonClient {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &daemonClient{c: &http.Client{Transport: tr, Timeout: runWait}}
}

// call POSTs to the plugin and decodes its JSON answer.
func (d *daemonClient) call(t *testing.T, path string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://plugin"+path, bytes.NewReader([]byte("{}")))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.docker.plugins.v1.2+json")
	resp, err := d.c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s: answer is not JSON: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != dockerplugin.ContentType {
		t.Fatalf("POST %s: %d %s %v", path, resp.StatusCode, resp.Header.Get("Content-Type"), out)
	}
	return out
}

// TestDockerPluginEndToEnd plays the Docker daemon against a running
// forwarder in plugin mode, over real unix sockets: activation, no scraping
// of the daemon's socket before StartMetrics, samples reaching Splunk HEC
// after it, none scraped after StopMetrics, and what was queued at Stop
// still delivered (the first sends fail and are retried after Stop).
func TestDockerPluginEndToEnd(t *testing.T) {
	dir := t.TempDir()
	metrics := newDaemonMetrics(t, filepath.Join(dir, "metrics.sock"))
	pluginSock := filepath.Join(dir, "plugins", "promfwd.sock")
	control := newFleet(t)
	hec := hectest.New(t, hectest.Options{})
	cfg, err := load("plugin.yaml", []byte(fmt.Sprintf(`
server: {listen: ""}
sources:
  - name: docker
    url: unix://%s
    docker_plugin: true
    interval: 1s
    sinks: [splunk]
  - name: control
    url: %s/metrics
    interval: 1s
    sinks: [out]
sinks:
  - name: splunk
    type: hec
    url: %s
    token: %s
    flush_interval: 100ms
  - name: out
    type: stdout
`, metrics.path, control.srv.URL, hec.URL(), hectest.DefaultToken)), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sinks[1].Settings.(*stdout.Config).Writer = io.Discard
	r := runFleet(t, cfg, Options{DockerPluginSocket: pluginSock})
	if fi, err := os.Stat(pluginSock); err != nil || fi.Mode().Perm() != dockerplugin.SocketMode {
		t.Fatalf("plugin socket: %v %v", fi, err)
	}
	daemon := newDaemonClient(t, pluginSock)

	got := daemon.call(t, "/Plugin.Activate")
	if !reflect.DeepEqual(got, map[string]any{"Implements": []any{"MetricsCollector"}}) {
		t.Fatalf("Activate = %v", got)
	}
	awaitCond(t, "control source scraped 3 times", func() bool { return control.count("/metrics") >= 3 })
	if n := metrics.scrapes(); n != 0 {
		t.Fatalf("daemon socket scraped %d times before StartMetrics", n)
	}

	hec.FailNext(2, hectest.Busy())
	if got := daemon.call(t, "/MetricsCollector.StartMetrics"); got["Err"] != "" {
		t.Fatalf("StartMetrics = %v", got)
	}
	awaitCond(t, "daemon socket scraped", func() bool { return metrics.scrapes() > 0 })
	if got := daemon.call(t, "/MetricsCollector.StopMetrics"); got["Err"] != "" {
		t.Fatalf("StopMetrics = %v", got)
	}
	atStop, acceptedAtStop := metrics.scrapes(), hec.Stats().Accepted
	c := control.count("/metrics")
	awaitCond(t, "control source scraped 3 more times", func() bool { return control.count("/metrics") >= c+3 })
	if n := metrics.scrapes(); n > atStop+1 { // one scrape may have been in flight
		t.Errorf("daemon socket scraped %d times after StopMetrics", n-atStop)
	}

	// What was scraped before Stop still reaches HEC, through the retries.
	awaitCond(t, "daemon samples delivered to HEC", func() bool {
		for _, p := range hec.Points() {
			if p.Name == "engine_daemon_container_states_containers" && p.Value == 3 && p.Dimensions["job"] == "docker" {
				return true
			}
		}
		return false
	})
	if s := hec.Stats(); s.Rejected == 0 {
		t.Errorf("HEC stats %+v: the injected failures were not hit", s)
	}
	t.Logf("accepted HEC requests at StopMetrics: %d (later: %d)", acceptedAtStop, hec.Stats().Accepted)

	// The daemon restarts: StartMetrics again resumes scraping.
	if got := daemon.call(t, "/MetricsCollector.StartMetrics"); got["Err"] != "" {
		t.Fatalf("second StartMetrics = %v", got)
	}
	n := metrics.scrapes()
	awaitCond(t, "scraping resumed", func() bool { return metrics.scrapes() > n })

	r.stop()
	if _, err := os.Stat(pluginSock); !os.IsNotExist(err) {
		t.Errorf("plugin socket left behind after shutdown: %v", err)
	}
	if logs := r.logs.FilterMessageSnippet("docker daemon started metrics").Len(); logs != 2 {
		t.Errorf("%d start log lines, want 2", logs)
	}
}

// TestDockerPluginSocketBusy: a second instance on the same socket fails at
// start-up instead of stealing it.
func TestDockerPluginSocketBusy(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "promfwd.sock")
	control := newFleet(t)
	text := fmt.Sprintf("server: {listen: \"\"}\nsources: [{name: c, url: %q, interval: 1s}]\nsinks: [{name: o, type: stdout}]\n", control.srv.URL+"/m")
	cfg, err := load("a.yaml", []byte(text), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sinks[0].Settings.(*stdout.Config).Writer = io.Discard
	r := runFleet(t, cfg, Options{DockerPluginSocket: sock})
	if r.logs.FilterMessageSnippet("no source has docker_plugin").Len() != 1 {
		t.Error("no warning about a plugin mode without docker_plugin sources")
	}
	cfg2, err := load("b.yaml", []byte(text), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	f2, err := New(cfg2, Options{DockerPluginSocket: sock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runWait)
	defer cancel()
	err = f2.Run(ctx, func() { t.Error("second instance became ready") })
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Run = %v, want socket in use", err)
	}
}

// TestAliveFollowsHeartbeat: Alive is true while the scheduler runs its
// heartbeat job and turns false once it stops.
func TestAliveFollowsHeartbeat(t *testing.T) {
	control := newFleet(t)
	cfg, err := load("a.yaml", []byte(fmt.Sprintf("server: {listen: \"\"}\nsources: [{name: c, url: %q, interval: 1h}]\nsinks: [{name: o, type: stdout}]\n", control.srv.URL+"/m")), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sinks[0].Settings.(*stdout.Config).Writer = io.Discard
	f, err := New(cfg, Options{Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if f.Alive(time.Hour) {
		t.Error("alive before Run")
	}
	r := runFleet(t, cfg, Options{Heartbeat: 50 * time.Millisecond})
	// Fresh across many heartbeats, not just the stamp taken at start.
	start := time.Now()
	for time.Since(start) < 500*time.Millisecond {
		if !r.f.Alive(400 * time.Millisecond) {
			t.Fatal("not alive while the scheduler runs")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.stop()
	awaitCond(t, "not alive after shutdown", func() bool { return !r.f.Alive(400 * time.Millisecond) })
	f.closeAll()
}
