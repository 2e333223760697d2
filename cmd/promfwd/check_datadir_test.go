package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckDataDirCLI (issue 21.15): check refuses a data_dir that run would
// refuse (here a file where the directory should be), naming the file,
// line and column; a usable one passes and is left as it was;
// -offline checks a config away from the host that runs it.
func TestCheckDataDirCLI(t *testing.T) {
	t.Setenv("PROMFWD_CONFIG", "")
	dir := t.TempDir()
	file := writeFile(t, dir, "not-a-dir", "")
	good := filepath.Join(dir, "state")
	cfg := func(dataDir string) string {
		return "data_dir: " + dataDir + "\nsources:\n  - name: a\n    url: http://127.0.0.1:9100/metrics\nsinks:\n  - name: out\n    type: stdout\n"
	}
	bad := writeFile(t, t.TempDir(), "cfg.yaml", cfg(file))
	code, _, errOut := runCLI("check", "-config", bad)
	if want := bad + ":1:11: data_dir: sink out: cannot use " + file + "/out/queue: not a directory"; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("check with a file as data_dir: exit %d, stderr %q, want exit 1 and %q", code, errOut, want)
	}
	if code, _, errOut := runCLI("check", "-offline", "-config", bad); code != 0 {
		t.Errorf("check -offline: exit %d: %s", code, errOut)
	}
	ok := writeFile(t, t.TempDir(), "cfg.yaml", cfg(good))
	if code, _, errOut := runCLI("check", "-config", ok); code != 0 {
		t.Errorf("check with a creatable data_dir: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(good); !os.IsNotExist(err) {
		t.Errorf("check created data_dir %s (stat: %v)", good, err)
	}
}

// TestCheckOfflineSkipsCredentialFiles: a config whose credential files
// live on the host that runs it fails check there until they exist, and
// passes check -offline elsewhere (CI checks the shipped configs so).
func TestCheckOfflineSkipsCredentialFiles(t *testing.T) {
	t.Setenv("PROMFWD_CONFIG", "")
	missing := filepath.Join(t.TempDir(), "scout-token")
	cfg := writeFile(t, t.TempDir(), "cfg.yaml", "sources:\n  - name: a\n    url: https://127.0.0.1:9100/metrics\n    bearer_token_file: "+missing+"\nsinks:\n  - name: out\n    type: stdout\n")
	code, _, errOut := runCLI("check", "-config", cfg)
	if want := "bearer_token_file: cannot read the file"; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("check with a missing token file: exit %d, stderr %q, want exit 1 and %q", code, errOut, want)
	}
	if code, _, errOut := runCLI("check", "-offline", "-config", cfg); code != 0 {
		t.Errorf("check -offline: exit %d: %s", code, errOut)
	}
}
