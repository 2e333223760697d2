package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseTargetGroups(t *testing.T) {
	cases := []struct {
		name, file, data string
		want             []TargetGroup
		wantErr          string
	}{
		{
			name: "json", file: "a.json",
			data: `[{"targets": ["10.0.0.1:9100", "node-b:9100"], "labels": {"env": "prod"}}, {"targets": ["[::1]:9100"]}]`,
			want: []TargetGroup{{Targets: []string{"10.0.0.1:9100", "node-b:9100"}, Labels: map[string]string{"env": "prod"}}, {Targets: []string{"[::1]:9100"}}},
		},
		{
			name: "yaml", file: "a.yml",
			data: "- targets: [app:8080]\n  labels:\n    team: web\n    __metrics_path__: /admin/metrics\n",
			want: []TargetGroup{{Targets: []string{"app:8080"}, Labels: map[string]string{"team": "web", "__metrics_path__": "/admin/metrics"}}},
		},
		{name: "empty yaml", file: "a.yaml", data: "", want: nil},
		{name: "empty json list", file: "a.json", data: "[]", want: []TargetGroup{}},
		{name: "unknown json key", file: "a.json", data: `[{"targets": ["a:1"], "label": {}}]`, wantErr: "unknown field"},
		{name: "unknown yaml key", file: "a.yaml", data: "- targets: [a:1]\n  lables: {}\n", wantErr: "lables"},
		{name: "scheme in target", file: "a.json", data: `[{"targets": ["http://a:1"]}]`, wantErr: "without scheme or path"},
		{name: "path in target", file: "a.json", data: `[{"targets": ["a:1/metrics"]}]`, wantErr: "without scheme or path"},
		{name: "empty target", file: "a.json", data: `[{"targets": [""]}]`, wantErr: "empty target"},
		{name: "bad label name", file: "a.json", data: `[{"targets": ["a:1"], "labels": {"a-b": "x"}}]`, wantErr: `invalid label name "a-b"`},
		{name: "bad scheme label", file: "a.json", data: `[{"targets": ["a:1"], "labels": {"__scheme__": "ftp"}}]`, wantErr: "want http or https"},
		{name: "bad path label", file: "a.json", data: `[{"targets": ["a:1"], "labels": {"__metrics_path__": "m"}}]`, wantErr: "must start with /"},
		{name: "not a list", file: "a.json", data: `{"targets": ["a:1"]}`, wantErr: "invalid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTargetGroups(tc.file, []byte(tc.data))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.want {
				tc.want[i].Source = tc.file // __meta_filepath
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestExpandTargets(t *testing.T) {
	src := SourceConfig{
		Name: "nodes", Scheme: "https", MetricsPath: "/metrics", Interval: time.Minute, Timeout: 10 * time.Second,
		SDConfigs: SDConfigs{FileSDConfigs: []*FileSDConfig{{Files: []string{"/x.json"}}}},
		Labels:    map[string]string{"env": "prod", "team": "infra"},
		Sinks:     []string{"splunk"},
	}
	groups := []TargetGroup{
		{Targets: []string{"a:9100", "b:9100"}, Labels: map[string]string{"team": "db", "__meta_x": "dropped"}},
		{Targets: []string{"a:9100"}, Labels: map[string]string{"team": "db"}},                                    // same target, same labels: once
		{Targets: []string{"a:9100"}, Labels: map[string]string{"__scheme__": "http", "__metrics_path__": "/m2"}}, // same host, other URL
		{Targets: []string{"c:1"}, Labels: map[string]string{"job": "custom", "instance": "c"}},
	}
	got, errs := src.ExpandTargets(groups)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	type view struct {
		Name, URL string
		Labels    map[string]string
	}
	var gotView []view
	for _, c := range got {
		if c.Discovers() || c.Scheme != "" || c.MetricsPath != "" || !reflect.DeepEqual(c.Sinks, src.Sinks) {
			t.Errorf("%s: expanded config keeps file_sd-only fields or loses others: %+v", c.Name, c)
		}
		gotView = append(gotView, view{c.Name, c.URL, c.Labels})
	}
	want := []view{
		{"nodes/a:9100", "https://a:9100/metrics", map[string]string{"job": "nodes", "env": "prod", "team": "db", "instance": "a:9100"}},
		{"nodes/b:9100", "https://b:9100/metrics", map[string]string{"job": "nodes", "env": "prod", "team": "db", "instance": "b:9100"}},
		{"nodes/a:9100#2", "http://a:9100/m2", map[string]string{"job": "nodes", "env": "prod", "team": "infra", "instance": "a:9100"}},
		{"nodes/c:1", "https://c:1/metrics", map[string]string{"job": "custom", "instance": "c", "env": "prod", "team": "infra"}},
	}
	if !reflect.DeepEqual(gotView, want) {
		t.Errorf("ExpandTargets:\n got %+v\nwant %+v", gotView, want)
	}
	// The expanded configs build targets with the right identity labels.
	tc, _, err := got[0].TargetConfig("ua")
	if err != nil {
		t.Fatal(err)
	}
	if l := fmt.Sprint(tc.TargetLabels); !strings.Contains(l, `job="nodes"`) || !strings.Contains(l, `instance="a:9100"`) {
		t.Errorf("target labels = %s, want job=nodes and instance=a:9100", l)
	}
}

func TestFileSDConfigErrors(t *testing.T) {
	cases := []struct{ name, source, want string }{
		{"url and file_sd", `{name: s, url: "http://a:1/m", file_sd_configs: [{files: [a.json]}]}`, "set url or *_sd_configs, not both"},
		{"no files", `{name: s, file_sd_configs: [{files: []}]}`, "sources[0].file_sd_configs[0].files: at least one file is required"},
		{"bad extension", `{name: s, file_sd_configs: [{files: [targets.txt]}]}`, "must end in .json, .yml or .yaml"},
		{"glob in directory", `{name: s, file_sd_configs: [{files: ["/etc/*/t.json"]}]}`, "only allowed in the file name"},
		{"bad pattern", `{name: s, file_sd_configs: [{files: ["/etc/[.json"]}]}`, "invalid file pattern"},
		{"short refresh", `{name: s, file_sd_configs: [{files: [a.json], refresh_interval: 100ms}]}`, "refresh_interval: must be at least 1s"},
		{"bad scheme", `{name: s, scheme: ftp, file_sd_configs: [{files: [a.json]}]}`, `invalid scheme "ftp"`},
		{"scheme without file_sd", `{name: s, url: "http://a:1/m", scheme: https}`, "scheme is only used with *_sd_configs"},
		{"docker_plugin with file_sd", `{name: s, docker_plugin: true, file_sd_configs: [{files: [a.json]}]}`, "docker_plugin"},
		{"relative metrics_path", `{name: s, metrics_path: m, file_sd_configs: [{files: [a.json]}]}`, "metrics_path: must start with /"},
		{"no url", `{name: s}`, "url is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := "sources:\n  - " + tc.source + "\nsinks: [{name: o, type: stdout}]\n"
			_, err := load("/etc/promfwd/promfwd.yaml", []byte(text), testEnv(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	cfg, err := load("/etc/promfwd/promfwd.yaml", []byte("sources: [{name: s, file_sd_configs: [{files: [sd/*.json, /abs/t.yaml]}]}]\nsinks: [{name: o, type: stdout}]\n"), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	sd := cfg.Sources[0]
	if want := []string{"/etc/promfwd/sd/*.json", "/abs/t.yaml"}; !reflect.DeepEqual(sd.FileSDConfigs[0].Files, want) {
		t.Errorf("files = %v, want %v (relative to the config file)", sd.FileSDConfigs[0].Files, want)
	}
	if sd.FileSDConfigs[0].RefreshInterval != DefaultFileSDRefresh || sd.Scheme != "http" || sd.MetricsPath != "/metrics" {
		t.Errorf("defaults: refresh %s scheme %q path %q", sd.FileSDConfigs[0].RefreshInterval, sd.Scheme, sd.MetricsPath)
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	again, err := load("/elsewhere/promfwd.yaml", out, testEnv(nil))
	if err != nil {
		t.Fatalf("rendered config does not load: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(again.Sources, cfg.Sources) {
		t.Errorf("round trip changed the source:\n%+v\n%+v", again.Sources[0], cfg.Sources[0])
	}
}
