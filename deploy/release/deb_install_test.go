package main

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// enabledLink is where enabling the unit (WantedBy=multi-user.target) puts
// its symlink.
const enabledLink = "/etc/systemd/system/multi-user.target.wants/" + serviceName

// TestDebInstall installs the release's .deb with dpkg and checks what a
// user gets: the version-stamped binary, the unit (systemd-analyze verify
// clean), enabled but not started, a config `promfwd check` accepts and
// dpkg lists as a conffile; then `dpkg -r` removes the package and keeps the
// conffile, and `dpkg --purge` removes that too.
func TestDebInstall(t *testing.T) {
	needRoot(t, "dpkg -i")
	needCommand(t, "dpkg", "dpkg")
	a := artifacts(t)
	if out, err := tryCmd("dpkg-query", "-W", "-f", "${Status}", "promfwd"); err == nil && strings.Contains(out, "installed") {
		unavailable(t, "a promfwd package is already installed here ("+out+"); not touching it")
	}
	if _, err := os.Stat("/etc/promfwd"); err == nil {
		unavailable(t, "/etc/promfwd exists; not overwriting a manual install")
	}
	t.Cleanup(func() { _, _ = tryCmd("dpkg", "--purge", "promfwd") })

	t.Logf("dpkg -i:\n%s", cmd(t, "dpkg", "-i", a.deb))
	if got := strings.TrimSpace(cmd(t, debBinary, "version")); got != "promfwd "+testVersion {
		t.Errorf("promfwd version = %q, want promfwd %s", got, testVersion)
	}
	if got := cmd(t, "dpkg-query", "-W", "-f", "${Version} ${Conffiles}", "promfwd"); !strings.HasPrefix(got, debVersion(testVersion)+" ") || !strings.Contains(got, debConfig) {
		t.Errorf("dpkg-query: %q, want version %s and conffile %s", got, debVersion(testVersion), debConfig)
	}
	for _, p := range []string{debUnit, debConfig, debDocDir + "/README.md", debDocDir + "/LICENSE", debDocDir + "/copyright"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("installed file: %v", err)
		}
	}
	// Enabled (postinst), not started: the admin adds the token first.
	if target, err := os.Readlink(enabledLink); err != nil || target != debUnit {
		t.Errorf("unit not enabled: %s -> %q (%v)", enabledLink, target, err)
	}
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		out, err := tryCmd("systemd-analyze", "verify", debUnit)
		if err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("systemd-analyze verify %s: %v\n%s", debUnit, err, out)
		} else {
			t.Logf("systemd-analyze verify %s: clean", debUnit)
		}
	} else {
		t.Log("systemd-analyze not installed: unit not verified")
	}
	// As systemd runs it: the token comes through LoadCredential=, which
	// the admin sets up after installing (check refuses a missing file).
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, "hec_token"), []byte("00000000-0000-0000-0000-000000000000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	checkCmd := exec.Command(debBinary, "check", "-config", debConfig)
	checkCmd.Env = append(os.Environ(), "CREDENTIALS_DIRECTORY="+creds)
	if out, err := checkCmd.CombinedOutput(); err != nil {
		t.Fatalf("%s check -config %s: %v\n%s", debBinary, debConfig, err, out)
	}
	t.Logf("promfwd check -config %s: ok", debConfig)

	// The admin edits the config; remove keeps it (policy: conffiles stay
	// until purge).
	edited := "# edited by the admin\n"
	orig, err := os.ReadFile(debConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(debConfig, append([]byte(edited), orig...), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("dpkg -r:\n%s", cmd(t, "dpkg", "-r", "promfwd"))
	for _, p := range []string{debBinary, debUnit, debDocDir + "/README.md"} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after dpkg -r: %v, want removed", p, err)
		}
	}
	if got, err := os.ReadFile(debConfig); err != nil || !strings.HasPrefix(string(got), edited) {
		t.Errorf("conffile after dpkg -r: %v, want the admin's edited file kept", err)
	}
	if st := cmd(t, "dpkg-query", "-W", "-f", "${Status}", "promfwd"); st != "deinstall ok config-files" {
		t.Errorf("status after dpkg -r: %q", st)
	}
	t.Logf("dpkg --purge:\n%s", cmd(t, "dpkg", "--purge", "promfwd"))
	for _, p := range []string{debConfig, enabledLink} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after purge: %v, want removed", p, err)
		}
	}
}
