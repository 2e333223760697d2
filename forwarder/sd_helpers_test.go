package forwarder

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/promfwd/promfwd/sinks/stdout"
)

// Test kit shared by the discovery and shard tests (untagged: the
// kubesd_*_test.go files, built without nokubernetes, use it too).

// targetNames is the sorted target names source's discovered hosts run
// under ("web/127.0.0.1:8080").
func targetNames(source string, hosts []string) []string {
	var out []string
	for _, h := range hosts {
		out = append(out, source+"/"+h)
	}
	slices.Sort(out)
	return out
}

// runReplicas runs three replicas of one config, yamlFor(i) being replica
// i's (loaded with REPLICA=i, file paths relative to a temporary dir),
// each writing to a stdout sink that discards.
func runReplicas(t *testing.T, yamlFor func(i int) string, opts Options) []*running {
	t.Helper()
	dir := t.TempDir()
	var replicas []*running
	for i := range 3 {
		cfg, err := loadWith(filepath.Join(dir, "promfwd.yaml"), []byte(yamlFor(i)),
			testEnv(map[string]string{"REPLICA": fmt.Sprint(i)}), os.Hostname)
		if err != nil {
			t.Fatalf("load replica %d: %v\n%s", i, err, yamlFor(i))
		}
		cfg.Sinks[0].Settings.(*stdout.Config).Writer = io.Discard
		replicas = append(replicas, runFleet(t, cfg, opts))
	}
	return replicas
}

// awaitScraped waits until every path in want has been scraped.
func (fl *fleet) awaitScraped(t *testing.T, what string, want map[string]bool) {
	t.Helper()
	awaitCond(t, what, func() bool {
		for p := range want {
			if !fl.scraped(p) {
				return false
			}
		}
		return true
	})
}

// stopThenCheckScrapedOnce stops the replicas and checks that each path was
// scraped by exactly one of them; with only non-nil, also that no path
// outside only was scraped.
func (fl *fleet) stopThenCheckScrapedOnce(t *testing.T, replicas []*running, only map[string]bool) {
	t.Helper()
	for _, r := range replicas {
		r.stop()
	}
	for p, by := range fl.scrapes() {
		if only != nil && !only[p] {
			t.Errorf("unexpected path scraped: %s", p)
		}
		if len(by) != 1 {
			t.Errorf("%s scraped by replicas %v, want exactly one", p, by)
		}
	}
}
