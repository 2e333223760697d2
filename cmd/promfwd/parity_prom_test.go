package main

// Parity with a real Prometheus (issue 12): Debian's prometheus scrapes a
// target with a block of metric_relabel_configs while promfwd scrapes the
// same target with the same block, pasted unchanged, and remote-writes into
// that same Prometheus. At the same instants both must hold the same series:
// names, label sets and values, including the per-target up and scrape_*
// series, with honor_labels false and true. Only the static label `via`
// tells the two apart.

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/remotewrite/promtest"
)

// parityRules exercises every action, ${1} and $1 replacements, a merge of
// nothing (labeldrop of a label that is unique anyway) and drops.
const parityRules = `
      - source_labels: [__name__]
        regex: junk_.*
        action: drop
      - source_labels: [__name__]
        regex: old_(.*)
        target_label: __name__
        replacement: new_${1}
      - source_labels: [__name__, code]
        separator: "@"
        regex: http_requests_total@4..
        action: drop
      - regex: pod
        action: labeldrop
      - source_labels: [code]
        regex: (5)..
        target_label: class
        replacement: ${1}xx
      - source_labels: [path]
        target_label: shard
        modulus: 4
        action: hashmod
      - regex: tag_(.+)
        replacement: t_$1
        action: labelmap
      - regex: tag_.+
        action: labeldrop
      - source_labels: [Region]
        target_label: region
        action: lowercase
      - source_labels: [Region]
        target_label: REGION
        action: uppercase
      - source_labels: [a]
        target_label: b
        action: keepequal
      - source_labels: [c]
        target_label: job
        action: dropequal
      - source_labels: [__name__]
        regex: .*_seconds_(sum|count)
        target_label: part
      - source_labels: [quantile]
        regex: "0.9"
        action: drop
`

// parityBody has le and quantile values already in the form both
// Prometheus 2.x and 3.x store, and no UTF-8 names (2.x stores legacy
// names only).
const parityBody = `# TYPE http_requests_total counter
http_requests_total{code="200",path="/a",pod="p1"} 10
http_requests_total{code="500",path="/b",pod="p1"} 3
http_requests_total{code="404",path="/c",pod="p1"} 1
# TYPE old_temp gauge
old_temp{Region="EU-West",tag_owner="ops"} 21.5
# TYPE junk_x gauge
junk_x 1
# TYPE lat_seconds histogram
lat_seconds_bucket{le="0.5"} 1
lat_seconds_bucket{le="1.0"} 2
lat_seconds_bucket{le="+Inf"} 3
lat_seconds_sum 1.7
lat_seconds_count 3
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.2
rpc_seconds{quantile="0.9"} 0.7
rpc_seconds_sum 9
rpc_seconds_count 30
# TYPE eq gauge
eq{a="x",b="x"} 1
eq{a="x",b="y"} 2
eq{a="x",b="x",c="x"} 3
eq{a="y",b="y",c="parity"} 4
# TYPE exposed gauge
exposed{job="other",instance="elsewhere",k="v"} 7
`

func TestParityWithPrometheus(t *testing.T) {
	var hits atomic.Int64
	tg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(parityBody))
	}))
	defer tg.Close()
	host := strings.TrimPrefix(tg.URL, "http://")

	var pcfg strings.Builder
	pcfg.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1m\nscrape_configs:\n")
	for _, job := range []struct {
		name, mode string
		honor      bool
	}{{"parity", "plain", false}, {"parity_honor", "honor", true}} {
		fmt.Fprintf(&pcfg, "  - job_name: %s\n    honor_labels: %v\n    static_configs:\n      - targets: [%q]\n        labels: {via: prom, mode: %s}\n    metric_relabel_configs:%s",
			job.name, job.honor, host, job.mode, parityRules)
	}
	prom := promtest.StartWithConfig(t, pcfg.String())

	cfg := fmt.Sprintf(`server: { listen: "" }
sources:
  - name: parity
    url: %[1]s/metrics
    interval: 1s
    timeout: 1s
    labels: {via: fwd, mode: plain}
    metric_relabel_configs:%[2]s
  - name: parity_honor
    url: %[1]s/metrics
    interval: 1s
    timeout: 1s
    honor_labels: true
    labels: {via: fwd, mode: honor}
    metric_relabel_configs:%[2]s
sinks:
  - name: prom
    type: remote_write
    url: %[3]s
    flush_interval: 100ms
`, tg.URL, parityRules, prom.WriteURL)
	file := filepath.Join(t.TempDir(), "promfwd.yml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	startChild(t, nil, "run", "-config", file, "-log-format", "json")

	query := func(expr string, at time.Time) []string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := prom.Query(ctx, expr, at)
		if err != nil {
			t.Fatalf("query %s: %v", expr, err)
		}
		var out []string
		for _, s := range res {
			out = append(out, paritySeries(s.Labels, s.Value))
		}
		slices.Sort(out)
		return out
	}
	// Both scrapers of both jobs have delivered at least twice (scrape
	// 1 differs in scrape_series_added).
	waitUntil(t, "both sides scraped twice", func() bool {
		return len(query(`count_over_time(up{via="prom"}[1m]) >= 2`, time.Now())) == 2 &&
			len(query(`count_over_time(up{via="fwd"}[1m]) >= 2`, time.Now())) == 2
	})
	for round := range 3 {
		start := hits.Load()
		waitUntil(t, "four more scrapes", func() bool { return hits.Load() >= start+4 })
		// promfwd's remote write flushes every 100ms; let the last
		// scrape's samples land by asking for up to 1s later data points.
		at := time.Now()
		waitUntil(t, "promfwd's writes for this round", func() bool {
			return len(query(`timestamp(up{via="fwd"}) > `+fmt.Sprint(at.Add(-1500*time.Millisecond).Unix()), at.Add(time.Second))) == 2
		})
		at = at.Add(time.Second)
		for _, mode := range []string{"plain", "honor"} {
			p := query(fmt.Sprintf(`{mode=%q,via="prom"}`, mode), at)
			f := query(fmt.Sprintf(`{mode=%q,via="fwd"}`, mode), at)
			if len(p) < 10 {
				t.Fatalf("round %d %s: Prometheus holds only %v", round, mode, p)
			}
			if !slices.Equal(p, f) {
				t.Errorf("round %d honor_labels %s at %s:\nPrometheus scraped:\n  %s\npromfwd wrote:\n  %s", round, mode, at.Format(time.RFC3339Nano),
					strings.Join(p, "\n  "), strings.Join(f, "\n  "))
			}
			if round == 2 {
				t.Logf("%s: %d identical series:\n  %s", mode, len(p), strings.Join(p, "\n  "))
			}
		}
	}
}

// paritySeries renders a series without `via` (the one label that differs)
// and without the value of scrape_duration_seconds (a measurement).
func paritySeries(ls map[string]string, v float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ls)) {
		if k != "__name__" && k != "via" {
			parts = append(parts, fmt.Sprintf("%s=%q", k, ls[k]))
		}
	}
	val := fmt.Sprint(v)
	if ls["__name__"] == "scrape_duration_seconds" {
		val = "<duration>"
	}
	return fmt.Sprintf("%s{%s} %s", ls["__name__"], strings.Join(parts, ","), val)
}
