package forwarder

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promfwd/promfwd/sinks/stdout"
)

func TestTargetHashIsStable(t *testing.T) {
	// Pinned: a change moves targets between replicas on upgrade.
	cases := []struct {
		source, url string
		want        uint64
	}{
		{"node", "http://10.0.0.1:9100/metrics", 0x9cf8aa9f3e8a0112},
		{"k8s", "https://app-0.app:8443/metrics", 0x3b37819b85edb94d},
		{"", "", 0xe934a84adb052768},
	}
	for _, tc := range cases {
		if got := TargetHash(tc.source, tc.url); got != tc.want {
			t.Errorf("TargetHash(%q, %q) = %#x, want %#x", tc.source, tc.url, got, tc.want)
		}
	}
	if TargetHash("ab", "c") == TargetHash("a", "bc") {
		t.Error("source and URL are not separated in the hash input")
	}
}

func TestShardBalance(t *testing.T) {
	const n, targets = 3, 3000
	per := make([]int, n)
	for i := range targets {
		url := fmt.Sprintf("http://10.%d.%d.%d:9100/metrics", i/65536, i/256%256, i%256)
		owners := 0
		for idx := range n {
			s := ShardConfig{Count: n, ordinal: idx}
			if s.Owns("nodes", url) {
				owners++
				per[idx]++
			}
		}
		if owners != 1 {
			t.Fatalf("%s has %d owners", url, owners)
		}
	}
	for idx, c := range per {
		if c < targets/n*8/10 || c > targets/n*12/10 {
			t.Errorf("shard %d owns %d of %d targets: unbalanced (%v)", idx, c, targets, per)
		}
	}
	if !(ShardConfig{}).Owns("x", "y") || !(ShardConfig{Count: 1}).Owns("x", "y") {
		t.Error("count 0 or 1 must own every target")
	}
}

func TestOrdinalFromHostname(t *testing.T) {
	cases := []struct {
		host string
		want int
		ok   bool
	}{
		{"promfwd-0", 0, true},
		{"promfwd-12", 12, true},
		{"my-promfwd-2.promfwd.monitoring.svc.cluster.local", 2, true},
		{"promfwd", 0, false},
		{"promfwd-", 0, false},
		{"promfwd-abc", 0, false},
		{"promfwd-+1", 0, false},
	}
	for _, tc := range cases {
		got, err := OrdinalFromHostname(tc.host)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("OrdinalFromHostname(%q) = %d, %v; want %d, ok=%v", tc.host, got, err, tc.want, tc.ok)
		}
	}
}

func TestShardConfig(t *testing.T) {
	base := "sources: [{name: a, url: \"http://127.0.0.1:1/m\"}]\nsinks: [{name: o, type: stdout}]\n"
	cases := []struct {
		name, shard, host string
		env               map[string]string
		wantOrdinal       int
		wantErr           string
	}{
		{name: "none", wantOrdinal: 0},
		{name: "index", shard: "{count: 3, index: 2}", wantOrdinal: 2},
		{name: "index from env", shard: "\n  count: 3\n  index: ${POD_ORDINAL}", env: map[string]string{"POD_ORDINAL": "1"}, wantOrdinal: 1},
		{name: "from hostname", shard: "{count: 4, index_from_hostname: true}", host: "promfwd-3", wantOrdinal: 3},
		{name: "out of range", shard: "{count: 3, index: 3}", wantErr: "t.yaml:5:26: shard.index: shard index 3 is out of range for count 3 (want 0..2)"},
		{name: "hostname out of range", shard: "{count: 2, index_from_hostname: true}", host: "promfwd-2", wantErr: "shard.index_from_hostname: shard index 2 is out of range for count 2"},
		{name: "hostname without ordinal", shard: "{count: 2, index_from_hostname: true}", host: "laptop", wantErr: `shard.index_from_hostname: host name "laptop" does not end in -<ordinal>`},
		{name: "both", shard: "{count: 2, index: 1, index_from_hostname: true}", host: "p-1", wantErr: "set index or index_from_hostname, not both"},
		{name: "negative count", shard: "{count: -1}", wantErr: "shard.count: must not be negative"},
		{name: "unset env", shard: "\n  count: 3\n  index: ${POD_ORDINAL}", wantErr: "shard.index"},
		{name: "unknown key", shard: "{count: 3, ordinal: 1}", wantErr: "ordinal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := base
			if tc.shard != "" {
				text += "\n\nshard: " + tc.shard + "\n"
			}
			host := func() (string, error) {
				if tc.host == "" {
					return "", errors.New("no host name in this test")
				}
				return tc.host, nil
			}
			cfg, err := loadWith("t.yaml", []byte(text), testEnv(tc.env), host)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Shard.Ordinal(); got != tc.wantOrdinal {
				t.Errorf("ordinal = %d, want %d", got, tc.wantOrdinal)
			}
			// The rendered config loads back to the same shard.
			out, err := cfg.Redacted()
			if err != nil {
				t.Fatal(err)
			}
			again, err := loadWith("t.yaml", out, testEnv(nil), host)
			if err != nil {
				t.Fatalf("rendered config does not load: %v\n%s", err, out)
			}
			if again.Shard != cfg.Shard {
				t.Errorf("round trip: %+v, want %+v", again.Shard, cfg.Shard)
			}
		})
	}
}

// TestShardsCoverEveryTargetOnce runs three replicas of one config (count 3,
// index 0..2) over 30 targets, 15 static and 15 from a file_sd file: every
// target is scraped, each by exactly one replica.
func TestShardsCoverEveryTargetOnce(t *testing.T) {
	fl := newFleet(t)
	dir := t.TempDir()
	var groups []string
	for i := range 15 {
		groups = append(groups, fmt.Sprintf(`{"targets": [%q], "labels": {"__metrics_path__": "/sd/%d"}}`, fl.host(), i))
	}
	if err := os.WriteFile(filepath.Join(dir, "targets.json"), []byte("["+strings.Join(groups, ",\n")+"]"), 0o644); err != nil {
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
	b.WriteString("  - {name: sd, file_sd: {files: [targets.json], refresh_interval: 1s}, interval: 1s, headers: {X-Replica: \"${REPLICA}\"}}\n")
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
	awaitCond(t, "every target scraped", func() bool {
		for p := range want {
			if !fl.scraped(p) {
				return false
			}
		}
		return true
	})
	for _, r := range replicas {
		r.stop()
	}
	for p, by := range fl.scrapes() {
		if !want[p] {
			t.Errorf("unexpected path scraped: %s", p)
		}
		if len(by) != 1 {
			t.Errorf("%s scraped by replicas %v, want exactly one", p, by)
		}
	}
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
			s += "  - {name: nodes, file_sd: {files: [nodes.json]}, interval: 1h}\n"
		}
		return s + "sinks: [{name: o, type: stdout}]\n"
	}
	loadText := func(s string) *Config {
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
