package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestHelpListsOnlyTheCommandsFlags: `promfwd run --help` shows run's flags
// and not once's -sink; `once --help` does not show run's -docker-plugin.
func TestHelpListsOnlyTheCommandsFlags(t *testing.T) {
	for _, tc := range []struct {
		cmd        string
		want, deny []string
	}{
		{"run", []string{"-config", "-docker-plugin", "-status-interval", "-log-level"}, []string{"-sink"}},
		{"once", []string{"-config", "-sink", "-log-format"}, []string{"-docker-plugin", "-status-interval"}},
		{"check", []string{"-config"}, []string{"-sink", "-docker-plugin", "-status-interval"}},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			code, _, errOut := runCLI(tc.cmd, "--help")
			if code != 0 {
				t.Errorf("%s --help: exit %d, want 0", tc.cmd, code)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, "  "+w+" ") && !strings.Contains(errOut, "  "+w+"\n") {
					t.Errorf("%s --help lacks %s:\n%s", tc.cmd, w, errOut)
				}
			}
			for _, d := range tc.deny {
				if strings.Contains(errOut, "  "+d+" ") || strings.Contains(errOut, "  "+d+"\n") {
					t.Errorf("%s --help lists %s, which is not %s's:\n%s", tc.cmd, d, tc.cmd, errOut)
				}
			}
		})
	}
}

// TestReadmeGoVersion: the README's stated Go version is go.mod's go line.
func TestReadmeGoVersion(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for _, l := range strings.Split(string(mod), "\n") {
		if v, ok := strings.CutPrefix(l, "go "); ok {
			want = strings.TrimSpace(v)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want == "" || !strings.Contains(string(readme), "Requirements: Go "+want+" ") {
		t.Errorf("README's \"Requirements: Go ...\" does not say go.mod's version %q", want)
	}
}

// checkStartupLog: run logs exactly one startup line naming the version and
// the config file, and gocron's "scheduler created/started" chatter is not
// at info level.
func checkStartupLog(t *testing.T, stderr, config string) {
	t.Helper()
	starts := 0
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if msg, _ := l["msg"].(string); strings.HasPrefix(msg, "gocron:") {
			t.Errorf("gocron line at %v: %s", l["level"], line)
		}
		if l["msg"] == "promfwd starting" {
			starts++
			if l["version"] == nil || l["version"] == "" || l["config"] != config || l["go_version"] == nil {
				t.Errorf("startup line lacks version or config %s: %s", config, line)
			}
		}
	}
	if starts != 1 {
		t.Errorf("%d startup lines, want 1:\n%s", starts, stderr)
	}
}
