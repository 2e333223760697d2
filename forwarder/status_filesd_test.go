package forwarder

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/promfwd/promfwd/forwarder/status"
)

// TestStatusFileSDTargets: file_sd targets appear one by one on
// /api/v1/targets under their file_sd source, with the file's labels.
func TestStatusFileSDTargets(t *testing.T) {
	a, b := newFleet(t), newFleet(t)
	dir := t.TempDir()
	sdFile := filepath.Join(dir, "targets.yaml")
	writeSDFile(t, sdFile, fmt.Sprintf("- targets: [%q, %q]\n  labels: {team: web}\n", a.host(), b.host()))
	yamlText := fmt.Sprintf(`
shutdown_timeout: 1s
server: {listen: 127.0.0.1:0}
sources:
  - name: web
    file_sd: {files: [targets.yaml], refresh_interval: 1s}
    interval: 1s
sinks:
  - {name: out, type: stdout}
`)
	cfg, err := load(filepath.Join(dir, "promfwd.yaml"), []byte(yamlText), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	r := runWith(t, cfg, nil, Options{})
	s := &statusRig{r: r, base: r.selfURL(t)}
	var ts map[string]status.Target
	awaitCond(t, "both file_sd targets scraped", func() bool {
		ts = s.targets(t, "?state=up")
		return len(ts) == 2
	})
	for _, x := range ts {
		if x.Source != "web" || x.Kind != "file_sd" || !hasLabel(x.Labels, "team", "web") || x.Name == "web" {
			t.Errorf("file_sd target %+v: want its own name, source web, kind file_sd and team=web", x)
		}
	}
	if byName := s.targets(t, "?name=web"); len(byName) != 2 {
		t.Errorf("name=web (the source) matched %d targets, want 2", len(byName))
	}
	if err := os.Remove(sdFile); err != nil {
		t.Fatal(err)
	}
}
