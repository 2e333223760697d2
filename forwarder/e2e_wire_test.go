package forwarder

// End to end for the destinations' name and tag rules (issue 17): an
// exposition with legal Prometheus names and labels that Splunk and
// Datadog do not accept as-is goes through both sinks (HEC in single and
// multi-metric form) to receivers that enforce those rules, and arrives
// complete under the documented mapping; the collisions the mapping
// creates are counted, nothing is lost silently.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/datadog/ddtest"
	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

var wireLong = strings.Repeat("x", 250)

// wireBody is the n-th scrape: counters grow (so Datadog sends deltas),
// gauges stay (so dedupe sends them once).
func wireBody(n int) string {
	return fmt.Sprintf(`# TYPE _ref_underscore_total counter
_ref_underscore_total{service="web",Team="Core"} %d
# TYPE ref_metric_name_total counter
ref_metric_name_total{host="h1",env="prod",version="1.2"} %d
# TYPE prom__ref_underscore_total gauge
prom__ref_underscore_total 9
# TYPE wire_gauge gauge
wire_gauge{path="/A B",team="core"} 1
wire_gauge{path="/A B",Team="core"} 2
# TYPE wire_long gauge
wire_long{v="%s"} 3
# TYPE wire_nan gauge
wire_nan NaN
`, 5+n, 7+n, wireLong)
}

func TestE2EWireNamesAndTags(t *testing.T) {
	t.Parallel()
	type hecRun struct {
		name  string
		multi bool
		tg    *e2eTarget
		rcv   *hectest.Server
		svc   *e2eService
	}
	runs := []*hecRun{{name: "hec/single"}, {name: "hec/multi", multi: true}}
	for _, r := range runs {
		r.tg = newE2ETarget(t, wireBody)
		r.rcv = hectest.New(t, hectest.Options{})
		r.svc = startE2E(t, hecConfig(r.tg.URL(), r.rcv.URL(), fmt.Sprintf(
			"    token: %s\n    multi_metric: %t\n", hectest.DefaultToken, r.multi)))
	}
	ddTg := newE2ETarget(t, wireBody)
	ddRcv := ddtest.NewServer(ddtest.Options{APIKey: ddKey})
	t.Cleanup(ddRcv.Close)
	ddSvc := startE2E(t, ddConfig(ddTg.URL(), ddRcv.URL(), ""))

	for _, r := range runs {
		pollFor(t, 30*time.Second, r.name+": 3 scrapes delivered", func() bool {
			return r.tg.Scrapes() >= 3 && len(hecValues(r.rcv, "ref_metric__name_total")) >= 3
		})
	}
	pollFor(t, 30*time.Second, "datadog: 2 deltas delivered", func() bool {
		return len(ddSeries(ddPoints(ddRcv), "ref_metric_name_total")) >= 2
	})
	for _, r := range runs {
		r.svc.Stop(t)
	}
	ddSvc.Stop(t)

	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			names := map[string]map[string]string{}
			for _, p := range r.rcv.Points() {
				names[p.Name] = p.Dimensions
			}
			want := []string{"prom__ref_underscore_total", "ref_metric__name_total", "wire_gauge", "wire_long"}
			got := make([]string, 0, len(names))
			for n := range names {
				got = append(got, n)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("metric names %v, want %v", got, want)
			}
			if d := names["ref_metric__name_total"]; d["label_host"] != "h1" || d["env"] != "prod" {
				t.Errorf("dimensions %v, want host renamed label_host", d)
			}
			if v := hecValues(r.rcv, "prom__ref_underscore_total"); len(v) == 0 || v[0] != 6 {
				t.Errorf("prom__ref_underscore_total = %v: want the mapped _ref_underscore_total (first seen) values", v)
			}
			if st := r.rcv.Stats(); st.Rejected != 0 {
				t.Errorf("receiver rejected %d requests", st.Rejected)
			}
			sink := map[string]string{"sink": "splunk"}
			dropped := func(reason string) float64 {
				return r.svc.metric(t, "promfwd_sink_dropped_samples_total", map[string]string{"sink": "splunk", "reason": reason})
			}
			if c := dropped("name_collision"); c != 1 {
				t.Errorf("dropped{name_collision} = %v, want 1 (the gauge prom__ref_underscore_total, sent once)", c)
			}
			if c := dropped("rejected"); c != 0 {
				t.Errorf("dropped{rejected} = %v, want 0", c)
			}
			if c := dropped("unrepresentable"); c < 1 {
				t.Errorf("dropped{unrepresentable} = %v, want the NaN counted", c)
			}
			// Zero silent loss: everything counted as sent arrived.
			if sent, got := r.svc.metric(t, "promfwd_sink_samples_sent_total", sink), float64(len(r.rcv.Points())); sent != got {
				t.Errorf("samples_sent = %v, receiver has %v points", sent, got)
			}
		})
	}
	t.Run("datadog", func(t *testing.T) {
		pts := ddPoints(ddRcv)
		if s := ddSeries(pts, "ref_underscore_total", "label_service:web", "team:core"); len(s) == 0 {
			t.Errorf("no ref_underscore_total with label_service:web and team:core in %v", pts)
		}
		if s := ddSeries(pts, "ref_metric_name_total", "label_host:h1", "label_env:prod", "label_version:1.2"); len(s) == 0 {
			t.Errorf("no ref_metric_name_total with renamed reserved tags in %v", pts)
		}
		if s := ddSeries(pts, "wire_gauge", "path:/a_b", "team:core"); len(s) != 1 || s[0].value != 1 {
			t.Errorf("wire_gauge points %v, want only the first series (value 1)", s)
		}
		if s := ddSeries(pts, "wire_long", "v:"+wireLong[:198]); len(s) != 1 {
			t.Errorf("wire_long points %v, want its tag cut at 200 characters", s)
		}
		dropped := func(reason string) float64 {
			return ddSvc.metric(t, "promfwd_sink_dropped_samples_total", map[string]string{"sink": "dd", "reason": reason})
		}
		if c := dropped("tag_collision"); c != 1 {
			t.Errorf("dropped{tag_collision} = %v, want 1", c)
		}
		if c := dropped("rejected"); c != 0 {
			t.Errorf("dropped{rejected} = %v, want 0", c)
		}
		if n := len(ddSvc.logsMatching("datadog: series identical after tag normalization; dropping the later one")); n != 1 {
			t.Errorf("%d collision log lines, want 1", n)
		}
		if sent := ddSvc.metric(t, "promfwd_sink_samples_sent_total", map[string]string{"sink": "dd"}); sent != float64(len(pts)) {
			t.Errorf("samples_sent = %v, receiver has %d points", sent, len(pts))
		}
	})
}
