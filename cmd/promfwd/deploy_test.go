package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/scrape/dockerplugin"
)

// Tests that the files under deploy/ agree with the binary and with each
// other. (The promfwd.yaml files are also loaded by forwarder's example
// config tests; .ci/run verifies the unit with systemd-analyze.)

const deployDir = "../../deploy"

// unitFile parses a systemd unit into section -> key -> values.
func unitFile(t *testing.T, p string) map[string]map[string][]string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: bad line %q", p, line)
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	return out
}

func one(t *testing.T, unit map[string]map[string][]string, section, key string) string {
	t.Helper()
	vs := unit[section][key]
	if len(vs) != 1 {
		t.Fatalf("[%s] %s set %d times, want once", section, key, len(vs))
	}
	return vs[0]
}

// TestSystemdUnit checks the unit against the config it ships with and
// what the binary does: Type=notify (READY/RELOADING/STOPPING), SIGHUP
// reload, the watchdog, the credential the config reads, the state
// directory that is its data_dir, hardening, and a stop timeout longer
// than the config's shutdown_timeout.
func TestSystemdUnit(t *testing.T) {
	unit := unitFile(t, filepath.Join(deployDir, "systemd", "promfwd.service"))
	svc := "Service"
	for key, want := range map[string]string{
		"Type": "notify", "NotifyAccess": "main", "ExecReload": "/bin/kill -HUP $MAINPID",
		"DynamicUser": "yes", "ProtectSystem": "strict", "NoNewPrivileges": "yes", "ProtectHome": "yes",
		"PrivateTmp": "yes", "Restart": "on-failure",
	} {
		if got := one(t, unit, svc, key); got != want {
			t.Errorf("%s=%s, want %s", key, got, want)
		}
	}
	exec := strings.Fields(one(t, unit, svc, "ExecStart"))
	if len(exec) != 4 || exec[1] != "run" || exec[2] != "-config" {
		t.Fatalf("ExecStart=%v, want <binary> run -config <file>", exec)
	}
	if wd, err := time.ParseDuration(one(t, unit, svc, "WatchdogSec")); err != nil || wd < 2*time.Second {
		t.Errorf("WatchdogSec=%v (%v): want a duration of a few seconds or more", wd, err)
	}

	// The shipped config is what ExecStart reads once installed.
	cred, credSrc, ok := strings.Cut(one(t, unit, svc, "LoadCredential"), ":")
	if !ok || cred == "" || credSrc == "" {
		t.Fatalf("LoadCredential=%s, want name:path", one(t, unit, svc, "LoadCredential"))
	}
	credDir := t.TempDir()
	t.Setenv("CREDENTIALS_DIRECTORY", credDir)
	cfg, err := config.LoadFile(filepath.Join(deployDir, "systemd", "promfwd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "/var/lib/" + one(t, unit, svc, "StateDirectory"); cfg.DataDir != want {
		t.Errorf("data_dir %q, want the unit's StateDirectory %s (the only writable path)", cfg.DataDir, want)
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(credDir, cred); !bytes.Contains(out, []byte("token_file: "+want)) {
		t.Errorf("no sink reads ${CREDENTIALS_DIRECTORY}/%s, the unit's LoadCredential:\n%s", cred, out)
	}
	stop, err := time.ParseDuration(one(t, unit, svc, "TimeoutStopSec"))
	if err != nil || stop <= cfg.ShutdownTimeout {
		t.Errorf("TimeoutStopSec=%v must exceed shutdown_timeout %v, or SIGKILL cuts the flush", stop, cfg.ShutdownTimeout)
	}
	if cfg.Server.Listen != "" && !strings.HasPrefix(cfg.Server.Listen, "127.0.0.1:") {
		t.Errorf("server.listen %q: keep self-metrics on loopback in the host example", cfg.Server.Listen)
	}
	// Outside systemd (an admin running `promfwd check`), the token path
	// falls back to /etc/promfwd, where the unit loads the credential from.
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	cfg, err = config.LoadFile(filepath.Join(deployDir, "systemd", "promfwd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := cfg.Redacted(); !bytes.Contains(out, []byte(credSrc)) {
		t.Errorf("without $CREDENTIALS_DIRECTORY the config does not read %s", credSrc)
	}
}

// pluginManifest is the part of config.json the checks read.
type pluginManifest struct {
	Description string
	Entrypoint  []string
	Interface   struct {
		Types  []string
		Socket string
	}
	PropagatedMount string
	Network         struct{ Type string }
	Env             []struct {
		Name  string
		Value string
	}
	Mounts []struct {
		Name        string
		Source      string
		Destination string
		Type        string
		Options     []string
	}
}

func readManifest(t *testing.T) pluginManifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(deployDir, "docker-plugin", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m pluginManifest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("config.json: %v", err)
	}
	return m
}

func (m pluginManifest) env(name string) (string, bool) {
	for _, e := range m.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// TestDockerPluginManifest checks config.json, the Dockerfile, the README
// and the example config against package dockerplugin and each other.
func TestDockerPluginManifest(t *testing.T) {
	m := readManifest(t)
	if !slices.Equal(m.Interface.Types, []string{dockerplugin.InterfaceType}) {
		t.Errorf("Interface.Types = %v, want [%s]", m.Interface.Types, dockerplugin.InterfaceType)
	}
	if m.Interface.Socket != path.Base(dockerplugin.DefaultSocket) {
		t.Errorf("Interface.Socket = %q, want %q (the daemon looks for it under /run/docker/plugins)", m.Interface.Socket, path.Base(dockerplugin.DefaultSocket))
	}
	wantEntry := []string{"/usr/local/bin/promfwd", "run", "-docker-plugin", dockerplugin.DefaultSocket}
	if !slices.Equal(m.Entrypoint, wantEntry) {
		t.Errorf("Entrypoint = %v, want %v", m.Entrypoint, wantEntry)
	}
	if m.PropagatedMount != "/run/docker" || !strings.HasPrefix(strings.TrimPrefix(dockerplugin.MetricsURL, "unix://"), m.PropagatedMount+"/") {
		t.Errorf("PropagatedMount = %q: the daemon's metrics socket %s must be under it", m.PropagatedMount, dockerplugin.MetricsURL)
	}
	cfgPath, ok := m.env(envConfig)
	if !ok {
		t.Fatalf("config.json sets no %s", envConfig)
	}
	mountOf := func(p string) string {
		for _, mt := range m.Mounts {
			if strings.HasPrefix(p, mt.Destination+"/") {
				return mt.Name
			}
		}
		return ""
	}
	if mountOf(cfgPath) == "" {
		t.Errorf("%s=%s is not under any mount", envConfig, cfgPath)
	}
	cfg, err := config.LoadFile(filepath.Join(deployDir, "docker-plugin", "promfwd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "" && mountOf(cfg.DataDir+"/x") == "" {
		t.Errorf("data_dir %s is not on a mount: queued data would not survive a plugin upgrade", cfg.DataDir)
	}
	gated := 0
	for _, s := range cfg.Sources {
		if s.URL == dockerplugin.MetricsURL || s.DockerPlugin {
			gated++
		}
	}
	if gated == 0 {
		t.Errorf("the plugin's example config never scrapes %s", dockerplugin.MetricsURL)
	}

	dockerfile, err := os.ReadFile(filepath.Join(deployDir, "docker-plugin", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-o /out" + m.Entrypoint[0] + " ./cmd/promfwd", "/out" + path.Dir(dockerplugin.DefaultSocket)} {
		if !bytes.Contains(dockerfile, []byte(want)) {
			t.Errorf("Dockerfile does not contain %q", want)
		}
	}
	if _, err := os.Stat("../../cmd/promfwd/main.go"); err != nil {
		t.Errorf("the Dockerfile builds ./cmd/promfwd: %v", err)
	}
	readme, err := os.ReadFile(filepath.Join(deployDir, "docker-plugin", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"docker plugin create", "docker plugin enable", strings.Join(m.Entrypoint[1:], " "), envConfig} {
		if !bytes.Contains(readme, []byte(want)) {
			t.Errorf("README.md does not mention %q", want)
		}
	}
}

// TestDockerPluginEntrypoint runs the binary the way config.json's
// Entrypoint and Env say (socket path and config file moved into a temp
// directory) and plays the daemon: Activate, StartMetrics, samples on
// stdout, StopMetrics, SIGTERM.
func TestDockerPluginEntrypoint(t *testing.T) {
	m := readManifest(t)
	dir := t.TempDir()
	metricsSock := filepath.Join(dir, "metrics.sock")
	stopMetrics := serveUnixMetrics(t, metricsSock)
	defer stopMetrics()
	cfgFile := filepath.Join(dir, "promfwd.yaml")
	cfg := fmt.Sprintf(`
server: {listen: ""}
sources:
  - name: docker
    url: unix://%s
    docker_plugin: true
    interval: 1s
sinks: [{name: out, type: stdout, flush_interval: 100ms}]
`, metricsSock)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	pluginSock := filepath.Join(dir, "plugins", m.Interface.Socket)
	args := slices.Clone(m.Entrypoint[1:])
	args[slices.Index(args, dockerplugin.DefaultSocket)] = pluginSock
	c := startChild(t, []string{envConfig + "=" + cfgFile}, append(args, "-log-format", "json")...)
	waitUntil(t, "the plugin socket", func() bool { _, err := os.Stat(pluginSock); return err == nil })
	d := newPluginDaemon(t, pluginSock)
	if got := d.post(t, "/Plugin.Activate"); got != `{"Implements":["MetricsCollector"]}` {
		t.Fatalf("Activate = %s", got)
	}
	if strings.Contains(c.stdout.String(), "engine_daemon_engine_info") {
		t.Fatal("scraped before StartMetrics")
	}
	if got := d.post(t, "/MetricsCollector.StartMetrics"); got != `{"Err":""}` {
		t.Fatalf("StartMetrics = %s", got)
	}
	waitUntil(t, "daemon samples on stdout", func() bool { return strings.Contains(c.stdout.String(), "engine_daemon_engine_info") })
	if got := d.post(t, "/MetricsCollector.StopMetrics"); got != `{"Err":""}` {
		t.Fatalf("StopMetrics = %s", got)
	}
	c.signal(t, syscall.SIGTERM)
	if code := c.exitCode(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if _, err := os.Stat(pluginSock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("plugin socket left behind: %v", err)
	}
}

func TestDockerPluginFlagOnlyForRun(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"check", "-config", filepath.Join(deployDir, "docker-plugin", "promfwd.yaml"), "-docker-plugin", "/tmp/x.sock"}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "-docker-plugin") {
		t.Errorf("check -docker-plugin: exit %d, stderr %q", code, errOut.String())
	}
}

// serveUnixMetrics plays the daemon's metrics socket.
func serveUnixMetrics(t *testing.T, sock string) (stop func()) {
	t.Helper()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "# TYPE engine_daemon_engine_info gauge\nengine_daemon_engine_info{version=\"28.2.2\"} 1\n")
	})}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }
}

// pluginDaemon calls the plugin socket as dockerd does.
type pluginDaemon struct{ c *http.Client }

func newPluginDaemon(t *testing.T, sock string) *pluginDaemon {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &pluginDaemon{c: &http.Client{Transport: tr, Timeout: wait}}
}

// post returns the answer body, trimmed; a non-200 answer fails the test.
func (d *pluginDaemon) post(t *testing.T, p string) string {
	t.Helper()
	resp, err := d.c.Post("http://plugin"+p, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("POST %s: %v", p, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s %v", p, resp.StatusCode, body, err)
	}
	return strings.TrimSpace(string(body))
}
