package forwarder

import (
	"slices"
	"testing"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/forwarder/status"
	"github.com/promfwd/promfwd/scrape"
)

// TestStatusTargetLabels: the status pages show the labels the target's
// samples carry, relabel_configs included (a label added, instance
// rewritten), as buildSource's pipe holds them.
func TestStatusTargetLabels(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load("t.yaml", []byte(`sources:
  - name: app
    url: http://127.0.0.1:9/metrics
    labels: {env: test}
    relabel_configs:
      - {target_label: team, replacement: core}
      - {target_label: instance, replacement: renamed}
sinks:
  - {name: out, type: stdout}
`))
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.Sources[0]
	tc, _, err := sc.TargetConfig("ua")
	if err != nil {
		t.Fatal(err)
	}
	src := &source{cfg: sc, pipe: newPipe(nil, scrape.Limits{}, false, tc.TargetLabels)}
	want := []status.Label{{Name: "env", Value: "test"}, {Name: "instance", Value: "renamed"},
		{Name: "job", Value: "app"}, {Name: "team", Value: "core"}}
	if got := src.labels(); !slices.Equal(got, want) {
		t.Errorf("labels: got %v, want %v", got, want)
	}
}
