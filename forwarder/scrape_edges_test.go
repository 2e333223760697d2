package forwarder

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/promfwd/promfwd/forwarder/config"
)

// TestScrapeDropsDuplicateSeries is issue 20 item 3 end to end: a target
// that repeats a series delivers the first sample only, and every scrape
// counts its repeat in promfwd_samples_dropped_total{reason="duplicate"}.
func TestScrapeDropsDuplicateSeries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "# TYPE jobs_total counter\njobs_total{queue=\"a\"} 1\njobs_total{queue=\"b\"} 3\njobs_total{queue=\"a\"} 2\n")
	}))
	defer srv.Close()
	r := runFwd(t, fmt.Sprintf(`
server:
  listen: ""
dedupe:
  enabled: false
global:
  scrape_interval: 1s
sources:
  - name: dup
    url: %s/metrics
sinks:
  - name: out
    type: stdout
    flush_interval: 50ms
`, srv.URL))
	reg := r.f.Registry()
	dropped := func() float64 {
		return gatherValue(t, reg, "promfwd_samples_dropped_total", map[string]string{"source": "dup", "reason": "duplicate"})
	}
	out := r.out["out"]
	awaitCond(t, "two scrapes with their duplicates counted and delivered", func() bool {
		return dropped() >= 2 && len(out.linesOf(t, "dup")) >= 4
	})
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	scrapes := gatherValue(t, reg, "promfwd_source_scrapes_total", map[string]string{"source": "dup"})
	if n := dropped(); n < 2 || n > scrapes {
		t.Errorf("dropped{reason=duplicate} = %v after %v scrapes, want one per scrape", n, scrapes)
	}
	perQueue := map[string]int{}
	for _, l := range out.linesOf(t, "dup") {
		perQueue[l.Labels["queue"]]++
		if l.Labels["queue"] == "a" && l.Value != 1.0 {
			t.Errorf("delivered %+v: the repeat, not the first sample", l)
		}
	}
	if perQueue["a"] != perQueue["b"] {
		t.Errorf("delivered %v: queue a sent more often than queue b", perQueue)
	}
}

// TestSourceScrapeProtocols is issue 20 item 5's config side: Prometheus'
// scrape_protocols key, validated as Prometheus validates it, reaches the
// target; unset, the target uses Prometheus 3's default.
func TestSourceScrapeProtocols(t *testing.T) {
	conf := func(line string) string {
		return "sources:\n  - name: s\n    url: http://127.0.0.1:1/metrics\n" + line +
			"sinks:\n  - name: out\n    type: stdout\n"
	}
	cfg, err := load("t.yaml", []byte(conf("    scrape_protocols: [PrometheusProto, OpenMetricsText1.0.0, PrometheusText0.0.4]\n")), ciLookup)
	if err != nil {
		t.Fatal(err)
	}
	tc, _, err := cfg.Sources[0].TargetConfig("promfwd/test")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"PrometheusProto", "OpenMetricsText1.0.0", "PrometheusText0.0.4"}; !slices.Equal(tc.ScrapeProtocols, want) {
		t.Errorf("TargetConfig.ScrapeProtocols = %v, want %v", tc.ScrapeProtocols, want)
	}
	cfg, err = load("t.yaml", []byte(conf("")), ciLookup)
	if err != nil {
		t.Fatal(err)
	}
	if tc, _, _ := cfg.Sources[0].TargetConfig("promfwd/test"); tc.ScrapeProtocols != nil {
		t.Errorf("unset scrape_protocols became %v, want nil (the scrape default)", tc.ScrapeProtocols)
	}
	for _, c := range []struct{ line, msg string }{
		{"    scrape_protocols: [PrometheusProto, prometheusproto]\n", "listed twice"},
		{"    scrape_protocols: [Protobuf]\n", `unknown protocol "Protobuf"`},
		{"    scrape_protocols: [OpenMetricsText2.0.0]\n", "not supported"},
	} {
		_, err := load("t.yaml", []byte(conf(c.line)), ciLookup)
		var ce *config.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "scrape_protocols") || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want a config error at scrape_protocols saying %q", strings.TrimSpace(c.line), err, c.msg)
		}
	}
}

// TestExampleHostIdentity is issue 20 item 6: the Docker daemon example
// labels each machine with its own host name although services never see
// the shell's HOSTNAME, and no example uses the ${HOSTNAME:-fixed} pattern
// that gave every host one identity. An exported HOSTNAME still wins.
func TestExampleHostIdentity(t *testing.T) {
	path := "../configs/docker-daemon-remote-write.yaml"
	data := promfwdConfigIn(t, path)
	hostLabel := func(lookup lookupFunc, host string) string {
		t.Helper()
		cfg, err := loadWith(path, data, lookup, func() (string, error) { return host, nil })
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Sources[0].Labels["host"]
	}
	a, b := hostLabel(ciLookup, "docker-a"), hostLabel(ciLookup, "docker-b")
	if a != "docker-a" || b != "docker-b" {
		t.Errorf("host label on two machines without HOSTNAME in the environment: %q and %q, want their host names", a, b)
	}
	exported := func(name string) (string, bool) {
		if name == "HOSTNAME" {
			return "from-env", true
		}
		return ciLookup(name)
	}
	if got := hostLabel(exported, "docker-a"); got != "from-env" {
		t.Errorf("exported HOSTNAME: host label %q, want from-env", got)
	}
	for _, p := range exampleConfigs(t) {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "${HOSTNAME:-") {
			t.Errorf("%s: ${HOSTNAME:-...} (the default is what every service sees)", filepath.Base(p))
		}
	}
}
