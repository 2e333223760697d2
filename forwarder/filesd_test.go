package forwarder

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/promfwd/promfwd/sinks/stdout"
)

func TestParseTargetGroups(t *testing.T) {
	cases := []struct {
		name, file, data string
		want             []targetGroup
		wantErr          string
	}{
		{
			name: "json", file: "a.json",
			data: `[{"targets": ["10.0.0.1:9100", "node-b:9100"], "labels": {"env": "prod"}}, {"targets": ["[::1]:9100"]}]`,
			want: []targetGroup{{Targets: []string{"10.0.0.1:9100", "node-b:9100"}, Labels: map[string]string{"env": "prod"}}, {Targets: []string{"[::1]:9100"}}},
		},
		{
			name: "yaml", file: "a.yml",
			data: "- targets: [app:8080]\n  labels:\n    team: web\n    __metrics_path__: /admin/metrics\n",
			want: []targetGroup{{Targets: []string{"app:8080"}, Labels: map[string]string{"team": "web", "__metrics_path__": "/admin/metrics"}}},
		},
		{name: "empty yaml", file: "a.yaml", data: "", want: nil},
		{name: "empty json list", file: "a.json", data: "[]", want: []targetGroup{}},
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
			got, err := parseTargetGroups(tc.file, []byte(tc.data))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestExpandTargets(t *testing.T) {
	src := SourceConfig{
		Name: "nodes", Scheme: "https", MetricsPath: "/metrics",
		FileSD: &FileSDConfig{Files: []string{"/x.json"}},
		Labels: map[string]string{"env": "prod", "team": "infra"},
		Sinks:  []string{"splunk"},
	}
	groups := []targetGroup{
		{Targets: []string{"a:9100", "b:9100"}, Labels: map[string]string{"team": "db", "__meta_x": "dropped"}},
		{Targets: []string{"a:9100"}, Labels: map[string]string{"team": "db"}},                                    // same target, same labels: once
		{Targets: []string{"a:9100"}, Labels: map[string]string{"__scheme__": "http", "__metrics_path__": "/m2"}}, // same host, other URL
		{Targets: []string{"c:1"}, Labels: map[string]string{"job": "custom", "instance": "c"}},
	}
	got := src.expandTargets(groups)
	type view struct {
		Name, URL string
		Labels    map[string]string
	}
	var gotView []view
	for _, c := range got {
		if c.FileSD != nil || c.Scheme != "" || c.MetricsPath != "" || !reflect.DeepEqual(c.Sinks, src.Sinks) {
			t.Errorf("%s: expanded config keeps file_sd-only fields or loses others: %+v", c.Name, c)
		}
		gotView = append(gotView, view{c.Name, c.URL, c.Labels})
	}
	want := []view{
		{"nodes/a:9100", "https://a:9100/metrics", map[string]string{"job": "nodes", "env": "prod", "team": "db"}},
		{"nodes/b:9100", "https://b:9100/metrics", map[string]string{"job": "nodes", "env": "prod", "team": "db"}},
		{"nodes/a:9100#2", "http://a:9100/m2", map[string]string{"job": "nodes", "env": "prod", "team": "infra"}},
		{"nodes/c:1", "https://c:1/metrics", map[string]string{"job": "custom", "instance": "c", "env": "prod", "team": "infra"}},
	}
	if !reflect.DeepEqual(gotView, want) {
		t.Errorf("expandTargets:\n got %+v\nwant %+v", gotView, want)
	}
	// The expanded configs build targets with the right identity labels.
	tc, err := got[0].TargetConfig("ua")
	if err != nil {
		t.Fatal(err)
	}
	if l := fmt.Sprint(tc.TargetLabels); !strings.Contains(l, `job="nodes"`) || !strings.Contains(l, `instance="a:9100"`) {
		t.Errorf("target labels = %s, want job=nodes and instance=a:9100", l)
	}
}

func TestFileSDConfigErrors(t *testing.T) {
	cases := []struct{ name, source, want string }{
		{"url and file_sd", `{name: s, url: "http://a:1/m", file_sd: {files: [a.json]}}`, "set url or file_sd, not both"},
		{"no files", `{name: s, file_sd: {files: []}}`, "sources[0].file_sd.files: at least one file is required"},
		{"bad extension", `{name: s, file_sd: {files: [targets.txt]}}`, "must end in .json, .yml or .yaml"},
		{"glob in directory", `{name: s, file_sd: {files: ["/etc/*/t.json"]}}`, "only allowed in the file name"},
		{"bad pattern", `{name: s, file_sd: {files: ["/etc/[.json"]}}`, "invalid file pattern"},
		{"short refresh", `{name: s, file_sd: {files: [a.json], refresh_interval: 100ms}}`, "refresh_interval: must be at least 1s"},
		{"bad scheme", `{name: s, scheme: ftp, file_sd: {files: [a.json]}}`, `invalid scheme "ftp"`},
		{"scheme without file_sd", `{name: s, url: "http://a:1/m", scheme: https}`, "scheme is only used with file_sd"},
		{"docker_plugin with file_sd", `{name: s, docker_plugin: true, file_sd: {files: [a.json]}}`, "docker_plugin"},
		{"relative metrics_path", `{name: s, metrics_path: m, file_sd: {files: [a.json]}}`, "metrics_path: must start with /"},
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
	cfg, err := load("/etc/promfwd/promfwd.yaml", []byte("sources: [{name: s, file_sd: {files: [sd/*.json, /abs/t.yaml]}}]\nsinks: [{name: o, type: stdout}]\n"), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	sd := cfg.Sources[0]
	if want := []string{"/etc/promfwd/sd/*.json", "/abs/t.yaml"}; !reflect.DeepEqual(sd.FileSD.Files, want) {
		t.Errorf("files = %v, want %v (relative to the config file)", sd.FileSD.Files, want)
	}
	if sd.FileSD.RefreshInterval != DefaultFileSDRefresh || sd.Scheme != "http" || sd.MetricsPath != "/metrics" {
		t.Errorf("defaults: refresh %s scheme %q path %q", sd.FileSD.RefreshInterval, sd.Scheme, sd.MetricsPath)
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

// labelsOf returns the label sets of the stdout lines for metric name.
func (s *lineBuffer) labelsOf(t *testing.T, name string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, l := range s.lines(t) {
		if l.Name == name {
			out = append(out, l.Labels)
		}
	}
	return out
}

func writeSDFile(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // atomically, as file_sd writers should
		t.Fatal(err)
	}
}

// TestFileSDChangesWithoutRestart: targets listed in a file_sd file are
// scraped with their labels; editing the file adds and removes targets on
// the next refresh (a removed one ends its series with stale markers and
// its self-metrics), a broken edit keeps the last good targets, and a
// static source beside it is never disturbed.
func TestFileSDChangesWithoutRestart(t *testing.T) {
	a, b, c, static := newFleet(t), newFleet(t), newFleet(t), newFleet(t)
	rw := newRWCapture(t)
	dir := t.TempDir()
	sdFile := filepath.Join(dir, "sd", "targets.yaml")
	if err := os.Mkdir(filepath.Dir(sdFile), 0o755); err != nil {
		t.Fatal(err)
	}
	writeSDFile(t, sdFile, fmt.Sprintf("- targets: [%q, %q]\n  labels: {team: web}\n", a.host(), b.host()))
	yamlText := fmt.Sprintf(`
server: {listen: ""}
sources:
  - name: static
    url: %s/metrics
    interval: 1s
  - name: web
    file_sd:
      files: [sd/*.yaml]
      refresh_interval: 1s
    interval: 1s
    labels: {env: test}
sinks:
  - {name: out, type: stdout, flush_interval: 100ms}
  - {name: rw, type: remote_write, url: %q, flush_interval: 100ms}
`, static.srv.URL, rw.URL())
	cfg, err := load(filepath.Join(dir, "promfwd.yaml"), []byte(yamlText), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	var out lineBuffer
	cfg.Sinks[0].Settings.(*stdout.Config).Writer = &out
	r := runFleet(t, cfg, Options{})

	awaitCond(t, "a and b scraped", func() bool { return a.scraped("/metrics") && b.scraped("/metrics") })
	awaitCond(t, "a's samples delivered", func() bool {
		for _, l := range out.labelsOf(t, "fleet_up") {
			if l["instance"] == a.host() {
				return true
			}
		}
		return false
	})
	for _, l := range out.labelsOf(t, "fleet_up") {
		if l["instance"] == a.host() || l["instance"] == b.host() {
			if l["job"] != "web" || l["team"] != "web" || l["env"] != "test" {
				t.Errorf("file_sd target labels = %v, want job=web team=web env=test", l)
			}
		}
	}
	r.f.mu.Lock()
	staticJob := r.f.sources["static"]
	r.f.mu.Unlock()

	// Edit: a goes, c comes.
	writeSDFile(t, sdFile, fmt.Sprintf("- targets: [%q, %q]\n  labels: {team: web}\n", b.host(), c.host()))
	awaitCond(t, "c scraped after the edit", func() bool { return c.scraped("/metrics") })
	wantTargets := []string{"static", "web/" + b.host(), "web/" + c.host()}
	slices.Sort(wantTargets)
	if got := r.f.Targets(); !reflect.DeepEqual(got, wantTargets) {
		t.Errorf("targets after edit = %v, want %v", got, wantTargets)
	}
	aCount, bCount := a.count("/metrics"), b.count("/metrics")
	awaitCond(t, "b scraped twice more", func() bool { return b.count("/metrics") >= bCount+2 })
	if n := a.count("/metrics"); n > aCount+1 { // one scrape may have been in flight
		t.Errorf("removed target still scraped: %d scrapes after removal", n-aCount)
	}
	// Its series end with a stale marker, as when Prometheus drops a target.
	awaitCond(t, "a stale marker for the removed target", func() bool {
		return rw.staleFor(map[string]string{"__name__": "fleet_up", "instance": a.host(), "job": "web"})
	})

	// A broken edit keeps the last good targets and is logged once.
	writeSDFile(t, sdFile, "- targets: [\n")
	awaitCond(t, "the broken file logged", func() bool {
		return r.logs.FilterMessageSnippet("keeping the last good targets").Len() > 0
	})
	cCount := c.count("/metrics")
	awaitCond(t, "c still scraped", func() bool { return c.count("/metrics") >= cCount+2 })
	if got := r.f.Targets(); !reflect.DeepEqual(got, wantTargets) {
		t.Errorf("targets after a broken edit = %v, want %v", got, wantTargets)
	}
	if n := r.logs.FilterMessageSnippet("keeping the last good targets").Len(); n != 1 {
		t.Errorf("broken file logged %d times, want once", n)
	}

	// The file goes away: its targets go too.
	if err := os.Remove(sdFile); err != nil {
		t.Fatal(err)
	}
	awaitCond(t, "targets of the removed file dropped", func() bool {
		return reflect.DeepEqual(r.f.Targets(), []string{"static"})
	})
	upSources := func() []string {
		mfs, err := r.f.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, mf := range mfs {
			if mf.GetName() != "promfwd_source_up" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "source" {
						out = append(out, l.GetValue())
					}
				}
			}
		}
		return out
	}
	awaitCond(t, "self-metrics of removed targets forgotten", func() bool {
		return reflect.DeepEqual(upSources(), []string{"static"})
	})
	r.f.mu.Lock()
	same := r.f.sources["static"] == staticJob
	r.f.mu.Unlock()
	if !same {
		t.Error("the static source was rebuilt by file_sd changes")
	}
}
