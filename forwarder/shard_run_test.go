package forwarder

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/sinks/stdout"
)

// TestShardsCoverEveryTargetOnce runs three replicas of one config (count 3,
// index 0..2) over 30 targets, 15 static and 15 from a file_sd file: every
// target is scraped, each by exactly one replica. The file_sd source's
// relabel_configs keep only the targets of targets.json (by
// __meta_filepath; the 5 of other.json are never scraped) and rewrite
// their placeholder __address__ to the fleet's.
func TestShardsCoverEveryTargetOnce(t *testing.T) {
	fl := newFleet(t)
	dir := t.TempDir()
	var groups, others []string
	for i := range 15 {
		groups = append(groups, fmt.Sprintf(`{"targets": ["sd-%d.invalid:9100"], "labels": {"__metrics_path__": "/sd/%d"}}`, i, i))
	}
	for i := range 5 {
		others = append(others, fmt.Sprintf(`{"targets": [%q], "labels": {"__metrics_path__": "/other/%d"}}`, fl.host(), i))
	}
	if err := os.WriteFile(filepath.Join(dir, "targets.json"), []byte("["+strings.Join(groups, ",\n")+"]"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other.json"), []byte("["+strings.Join(others, ",\n")+"]"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	var b strings.Builder
	b.WriteString("server: {listen: \"\"}\nshard:\n  count: 3\n  index: ${REPLICA}\nsources:\n")
	for i := range 15 {
		fmt.Fprintf(&b, "  - {name: static-%d, url: \"%s/static/%d\", interval: 1s, headers: {X-Replica: \"${REPLICA}\"}}\n", i, fl.srv.URL, i)
		want[fmt.Sprintf("/static/%d", i)] = true
		want[fmt.Sprintf("/sd/%d", i)] = true
	}
	b.WriteString("  - name: sd\n    file_sd_configs: [{files: [\"*.json\"], refresh_interval: 1s}]\n    interval: 1s\n    headers: {X-Replica: \"${REPLICA}\"}\n")
	fmt.Fprintf(&b, `    relabel_configs:
      - source_labels: [__meta_filepath]
        regex: .*/targets\.json
        action: keep
      - source_labels: [__address__]
        regex: sd-\d+\.invalid:9100
        target_label: __address__
        replacement: %s
`, fl.host())
	b.WriteString("sinks: [{name: out, type: stdout, max_request_bytes: 65536}]\n")

	owned := map[string][]int{} // target name -> replicas
	var replicas []*running
	for i := range 3 {
		cfg, err := loadWith(filepath.Join(dir, "promfwd.yaml"), []byte(b.String()),
			testEnv(map[string]string{"REPLICA": fmt.Sprint(i)}), os.Hostname)
		if err != nil {
			t.Fatalf("load replica %d: %v", i, err)
		}
		cfg.Sinks[0].Settings.(*stdout.Config).Writer = io.Discard
		r := runFleet(t, cfg, Options{})
		replicas = append(replicas, r)
		for _, n := range r.f.Targets() {
			owned[n] = append(owned[n], i)
		}
	}
	if len(owned) != 30 {
		t.Errorf("replicas own %d distinct targets, want 30: %v", len(owned), owned)
	}
	for n, rs := range owned {
		if len(rs) != 1 {
			t.Errorf("target %s owned by replicas %v", n, rs)
		}
	}
	fl.awaitScraped(t, "every target scraped", want)
	fl.stopThenCheckScrapedOnce(t, replicas, want)
}

// TestReloadKeepsFileSDTargetsAndReshards: a reload with the same file_sd
// source keeps its targets' jobs; changing the shard re-splits static and
// file_sd targets alike; a file_sd source removed by reload takes its
// targets along.
func TestReloadKeepsFileSDTargetsAndReshards(t *testing.T) {
	dir := t.TempDir()
	var targets []string
	for i := range 12 {
		targets = append(targets, fmt.Sprintf("%q", fmt.Sprintf("10.0.0.%d:9100", i+1)))
	}
	writeSDFile(t, filepath.Join(dir, "nodes.json"), `[{"targets": [`+strings.Join(targets, ",")+`]}]`)
	text := func(count, index int, withSD bool) string {
		s := fmt.Sprintf("server: {listen: \"\"}\nshard: {count: %d, index: %d}\nsources:\n", count, index)
		for i := range 6 {
			s += fmt.Sprintf("  - {name: s%d, url: \"http://10.1.0.%d:9100/metrics\", interval: 1h}\n", i, i)
		}
		if withSD {
			s += "  - {name: nodes, file_sd_configs: [{files: [nodes.json]}], interval: 1h}\n"
		}
		return s + "sinks: [{name: o, type: stdout}]\n"
	}
	loadText := func(s string) *config.Config {
		t.Helper()
		cfg, err := load(filepath.Join(dir, "promfwd.yaml"), []byte(s), testEnv(nil))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Sinks[0].Settings.(*stdout.Config).Writer = io.Discard
		return cfg
	}
	r := runFleet(t, loadText(text(1, 0, true)), Options{})
	all := r.f.Targets()
	if len(all) != 18 {
		t.Fatalf("unsharded: %d targets, want 18: %v", len(all), all)
	}
	jobs := func() map[string]*sourceJob {
		r.f.mu.Lock()
		defer r.f.mu.Unlock()
		return maps.Clone(r.f.sources)
	}
	before := jobs()
	if err := r.f.Reload(loadText(text(1, 0, true))); err != nil {
		t.Fatal(err)
	}
	after := jobs()
	for n, sj := range before {
		if after[n] != sj {
			t.Errorf("unchanged reload rebuilt %s", n)
		}
	}
	union := map[string]int{}
	for idx := range 2 {
		if err := r.f.Reload(loadText(text(2, idx, true))); err != nil {
			t.Fatal(err)
		}
		for _, n := range r.f.Targets() {
			union[n]++
		}
	}
	if len(union) != 18 {
		t.Errorf("shards 0 and 1 together own %d targets, want 18", len(union))
	}
	for n, c := range union {
		if c != 1 {
			t.Errorf("%s owned by %d shards", n, c)
		}
	}
	if err := r.f.Reload(loadText(text(1, 0, false))); err != nil {
		t.Fatal(err)
	}
	if got := r.f.Targets(); len(got) != 6 {
		t.Errorf("after removing the file_sd source: %v", got)
	}
}
