package relabel

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPopulateTarget(t *testing.T) {
	d := TargetDefaults{Job: "node", Interval: 30 * time.Second, Timeout: 10 * time.Second, Scheme: "http",
		MetricsPath: "/metrics", Params: url.Values{"module": {"if_mib"}, "x": {"1", "2"}}}
	rules := mustRules(t, `
- source_labels: [__meta_filepath]
  regex: .*/prod-.*\.json
  action: keep
- source_labels: [__address__]
  regex: (.*):9100
  target_label: __address__
  replacement: ${1}:9200
- source_labels: [__meta_filepath]
  regex: .*/prod-(.*)\.json
  target_label: team
- source_labels: [module]
  target_label: __param_module
- source_labels: [slow]
  regex: "yes"
  target_label: __scrape_interval__
  replacement: 1m
`)
	tests := []struct {
		name    string
		tl, gl  map[string]string
		wantURL string
		want    string // labels
		every   time.Duration
		err     string
		dropped bool
	}{
		{name: "kept and rewritten",
			tl:      map[string]string{"__address__": "h1:9100", "__meta_filepath": "/sd/prod-db.json"},
			gl:      map[string]string{"env": "prod"},
			wantURL: "http://h1:9200/metrics?module=if_mib&x=1&x=2", want: `{env="prod",instance="h1:9200",job="node",team="db"}`, every: 30 * time.Second},
		{name: "dropped by keep",
			tl:      map[string]string{"__address__": "h2:9100", "__meta_filepath": "/sd/dev-db.json"},
			dropped: true},
		{name: "group label sets a param, instance, interval",
			tl:      map[string]string{"__address__": "h3:9100", "__meta_filepath": "/sd/prod-web.json"},
			gl:      map[string]string{"module": "tcp", "instance": "web-3", "slow": "yes"},
			wantURL: "http://h3:9200/metrics?module=tcp&x=1&x=2", want: `{instance="web-3",job="node",module="tcp",slow="yes",team="web"}`, every: time.Minute},
		{name: "target label beats group label",
			tl:      map[string]string{"__address__": "h4:9100", "__meta_filepath": "/sd/prod-a.json"},
			gl:      map[string]string{"__address__": "other:1"},
			wantURL: "http://h4:9200/metrics?module=if_mib&x=1&x=2", want: `{instance="h4:9200",job="node",team="a"}`, every: 30 * time.Second},
		{name: "address with a path",
			tl:  map[string]string{"__address__": "h5:9100/x", "__meta_filepath": "/sd/prod-a.json"},
			err: "not a valid hostname"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PopulateTarget(d, tc.tl, tc.gl, rules)
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			case tc.dropped:
				if got != nil {
					t.Fatalf("not dropped: %+v", got)
				}
				return
			}
			if got.URL() != tc.wantURL || got.Labels.String() != tc.want || got.Interval != tc.every || got.Timeout != 10*time.Second {
				t.Fatalf("got %s %s every %s/%s", got.URL(), got.Labels, got.Interval, got.Timeout)
			}
			if got.Discovered.Get("__meta_filepath") == "" {
				t.Fatalf("discovered labels lost: %s", got.Discovered)
			}
		})
	}
}

func TestPopulateTargetErrors(t *testing.T) {
	d := TargetDefaults{Job: "j", Interval: 10 * time.Second, Timeout: 5 * time.Second, Scheme: "http", MetricsPath: "/metrics"}
	for _, tc := range []struct{ rules, err string }{
		{"- target_label: __address__\n  replacement: \"\"", "no address"},
		{"- target_label: __scrape_timeout__\n  replacement: 1m", "cannot be greater"},
		{"- target_label: __scrape_interval__\n  replacement: soon", "error parsing __scrape_interval__"},
		{"- target_label: __scheme__\n  replacement: ftp", "invalid __scheme__"},
	} {
		_, err := PopulateTarget(d, map[string]string{"__address__": "h:1"}, nil, mustRules(t, tc.rules))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: err %v, want %q", tc.rules, err, tc.err)
		}
	}
	unix := TargetDefaults{Job: "docker", Interval: 10 * time.Second, Timeout: 5 * time.Second, Scheme: SchemeUnix, MetricsPath: "/metrics"}
	got, err := PopulateTarget(unix, map[string]string{"__address__": "/run/docker/metrics.sock"}, nil, nil)
	if err != nil || got.URL() != "unix:///run/docker/metrics.sock" || got.Labels.Get("instance") != "/run/docker/metrics.sock" {
		t.Fatalf("unix: %+v %v", got, err)
	}
}
