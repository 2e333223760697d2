package dockerplugin

import (
	"bytes"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pluginConfig mirrors the fields of moby's types.PluginConfig that
// deploy/docker-plugin/config.json uses. dockerd decodes with encoding/json
// (case-insensitive keys, unknown keys ignored); decoding with
// DisallowUnknownFields here turns a misspelt key, which dockerd would
// silently ignore, into a test failure.
type pluginConfig struct {
	Description   string
	Documentation string
	Entrypoint    []string
	WorkDir       string
	Interface     struct {
		Types  []string
		Socket string
	}
	PropagatedMount string
	Network         struct{ Type string }
	Env             []struct {
		Name, Description, Value string
		Settable                 []string
	}
	Mounts []struct {
		Name, Description, Source, Destination, Type string
		Options, Settable                            []string
	}
	Linux struct{ Capabilities []string }
}

const deployDir = "../../deploy/docker-plugin"

func loadPluginConfig(t *testing.T) pluginConfig {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(deployDir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c pluginConfig
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("config.json: %v", err)
	}
	return c
}

func TestDeployConfigJSON(t *testing.T) {
	c := loadPluginConfig(t)
	if !slices.Equal(c.Interface.Types, []string{InterfaceType}) {
		t.Errorf("Interface.Types = %q, want [%q]", c.Interface.Types, InterfaceType)
	}
	if c.Interface.Socket != path.Base(DefaultSocket) {
		t.Errorf("Interface.Socket = %q, want %q", c.Interface.Socket, path.Base(DefaultSocket))
	}
	if c.PropagatedMount != "/run/docker" {
		t.Errorf("PropagatedMount = %q, want /run/docker (required for the metrics socket)", c.PropagatedMount)
	}
	if !strings.HasPrefix(strings.TrimPrefix(MetricsURL, "unix://"), c.PropagatedMount+"/") {
		t.Errorf("MetricsURL %s is outside PropagatedMount %s", MetricsURL, c.PropagatedMount)
	}
	// The daemon finds the plugin at /run/docker/plugins/<Socket> in the
	// plugin's rootfs: the entrypoint must listen exactly there.
	i := slices.Index(c.Entrypoint, "-docker-plugin")
	if i < 0 || i+1 >= len(c.Entrypoint) || c.Entrypoint[i+1] != path.Join("/run/docker/plugins", c.Interface.Socket) {
		t.Errorf("Entrypoint %q does not pass -docker-plugin /run/docker/plugins/%s", c.Entrypoint, c.Interface.Socket)
	}
	if len(c.Entrypoint) < 2 || c.Entrypoint[1] != "run" {
		t.Errorf("Entrypoint %q does not run `promfwd run`", c.Entrypoint)
	}
	if c.Network.Type != "host" {
		t.Errorf("Network.Type = %q; the sinks need the host network", c.Network.Type)
	}
	var cfgPath string
	for _, e := range c.Env {
		if e.Name == "PROMFWD_CONFIG" {
			cfgPath = e.Value
		}
	}
	var cfgMount bool
	for _, m := range c.Mounts {
		if m.Type != "bind" || m.Source == "" || !path.IsAbs(m.Destination) {
			t.Errorf("mount %q: want an absolute bind mount with a source", m.Name)
		}
		if strings.HasPrefix(m.Destination, c.PropagatedMount+"/") || m.Destination == c.PropagatedMount {
			t.Errorf("mount %q shadows the PropagatedMount", m.Name)
		}
		if cfgPath != "" && strings.HasPrefix(cfgPath, m.Destination+"/") {
			cfgMount = true
		}
	}
	if !cfgMount {
		t.Errorf("PROMFWD_CONFIG=%q is not inside any mount", cfgPath)
	}
}

// TestDeployDockerfileBuildsEntrypoint keeps the image and the manifest in
// step: the binary config.json runs is the one the Dockerfile installs, and
// the plugin socket directory exists in the rootfs.
func TestDeployDockerfileBuildsEntrypoint(t *testing.T) {
	c := loadPluginConfig(t)
	raw, err := os.ReadFile(filepath.Join(deployDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	for _, want := range []string{
		"-o /out" + c.Entrypoint[0] + " ./cmd/promfwd",
		"CGO_ENABLED=0",
		"/out" + path.Dir(DefaultSocket),
		"COPY --from=build /out/ /",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
