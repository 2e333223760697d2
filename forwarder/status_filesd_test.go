package forwarder

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
    file_sd_configs: [{files: [targets.yaml], refresh_interval: 1s}]
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

// TestStatusShard: with shard.count 2 the targets page lists exactly the
// targets this replica owns, each marked with its shard. The names and
// URLs are fixed, so which replica owns which is fixed too.
func TestStatusShard(t *testing.T) {
	var srcs strings.Builder
	for i := range 8 {
		fmt.Fprintf(&srcs, "  - {name: t%d, url: 'http://127.0.0.1:1/m%d', interval: 1h}\n", i, i)
	}
	cfg, _ := loadRunConfig(t, "shutdown_timeout: 1s\nserver: {listen: 127.0.0.1:0}\nshard: {count: 2, index: 1}\nsources:\n"+
		srcs.String()+"sinks: [{name: out, type: stdout}]\n")
	var owned []string
	for _, sc := range cfg.Sources {
		if cfg.Shard.Owns(sc.Name, sc.URL) {
			owned = append(owned, sc.Name)
		}
	}
	if len(owned) == 0 || len(owned) == 8 {
		t.Fatalf("replica 1 owns %v of 8: pick other names so the test shows a split", owned)
	}
	r := runConfig(t, cfg, nil)
	s := &statusRig{r: r, base: r.selfURL(t)}
	ts := s.targets(t, "")
	var listed []string
	for name, x := range ts {
		listed = append(listed, name)
		if x.Shard != "1 of 2" {
			t.Errorf("target %s: shard %q, want \"1 of 2\"", name, x.Shard)
		}
	}
	slices.Sort(listed)
	if !slices.Equal(listed, owned) {
		t.Errorf("listed %v, want the owned %v", listed, owned)
	}
}
