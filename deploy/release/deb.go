package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

// Paths inside the package. Debian packages install to /usr/bin, not
// /usr/local, so the unit's ExecStart is rewritten.
const (
	debBinary   = "/usr/bin/promfwd"
	debUnit     = "/lib/systemd/system/promfwd.service"
	debConfig   = "/etc/promfwd/promfwd.yaml"
	debDocDir   = "/usr/share/doc/promfwd"
	unitBinary  = "/usr/local/bin/promfwd" // ExecStart in deploy/systemd
	serviceName = "promfwd.service"
)

// Maintainer scripts: what dh_installsystemd generates, nothing more. The
// unit is enabled on first install but not started (the config needs the
// admin's HEC token first); remove stops it; purge forgets its state.
const (
	postinst = `#!/bin/sh
set -e
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ]; then
	if [ -x /usr/bin/deb-systemd-helper ]; then
		deb-systemd-helper unmask promfwd.service >/dev/null || true
		if deb-systemd-helper --quiet was-enabled promfwd.service; then
			deb-systemd-helper enable promfwd.service >/dev/null || true
		else
			deb-systemd-helper update-state promfwd.service >/dev/null || true
		fi
	fi
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
	fi
fi
`
	prerm = `#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	deb-systemd-invoke stop promfwd.service >/dev/null || true
fi
`
	postrm = `#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = "remove" ] && [ -x /usr/bin/deb-systemd-helper ]; then
	deb-systemd-helper mask promfwd.service >/dev/null || true
fi
if [ "$1" = "purge" ] && [ -x /usr/bin/deb-systemd-helper ]; then
	deb-systemd-helper purge promfwd.service >/dev/null || true
	deb-systemd-helper unmask promfwd.service >/dev/null || true
fi
`
)

// debUnitFile is deploy/systemd's unit with ExecStart pointing at /usr/bin.
func debUnitFile(root string) ([]byte, error) {
	p := filepath.Join(root, "deploy", "systemd", serviceName)
	unit, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	old := []byte("ExecStart=" + unitBinary + " ")
	if n := bytes.Count(unit, old); n != 1 {
		return nil, fmt.Errorf("%s: want one %q, found %d", p, old, n)
	}
	return bytes.Replace(unit, old, []byte("ExecStart="+debBinary+" "), 1), nil
}

// debCopyright is the machine-readable debian/copyright for the license.
const debCopyright = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: promfwd
Source: https://github.com/promfwd/promfwd

Files: *
Copyright: The promfwd authors
License: Apache-2.0
 On Debian systems the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0 and in ` + debDocDir + `/LICENSE.
`

// debInfo describes the package for arch; scratch holds generated files.
func debInfo(root, bin, arch, version, scratch string, mtime time.Time) (*nfpm.Info, error) {
	unit, err := debUnitFile(root)
	if err != nil {
		return nil, err
	}
	gen := map[string][]byte{
		"promfwd.service": unit, "copyright": []byte(debCopyright),
		"postinst": []byte(postinst), "prerm": []byte(prerm), "postrm": []byte(postrm),
	}
	for n, b := range gen {
		if err := os.WriteFile(filepath.Join(scratch, n), b, 0o644); err != nil {
			return nil, err
		}
	}
	mode := func(m os.FileMode) *files.ContentFileInfo {
		return &files.ContentFileInfo{Owner: "root", Group: "root", Mode: m, MTime: mtime}
	}
	info := &nfpm.Info{
		Name:        "promfwd",
		Arch:        arch,
		Platform:    "linux",
		Version:     version,
		Section:     "net",
		Priority:    "optional",
		Maintainer:  "promfwd maintainers <promfwd@users.noreply.github.com>",
		Description: "forward Prometheus/OpenMetrics samples to Splunk HEC, Datadog and remote-write\n promfwd scrapes Prometheus and OpenMetrics endpoints on a schedule and pushes\n every sample to Splunk HEC, Datadog or Prometheus remote-write, with disk\n queues that survive restarts.",
		Vendor:      "promfwd",
		Homepage:    "https://github.com/promfwd/promfwd",
		License:     "Apache-2.0",
		MTime:       mtime,
		Overridables: nfpm.Overridables{
			Contents: files.Contents{
				{Source: bin, Destination: debBinary, FileInfo: mode(0o755)},
				{Source: filepath.Join(scratch, "promfwd.service"), Destination: debUnit, FileInfo: mode(0o644)},
				{Source: filepath.Join(root, "deploy", "systemd", "promfwd.yaml"), Destination: debConfig, Type: files.TypeConfigNoReplace, FileInfo: mode(0o644)},
				{Source: filepath.Join(root, "README.md"), Destination: debDocDir + "/README.md", FileInfo: mode(0o644)},
				{Source: filepath.Join(root, "LICENSE"), Destination: debDocDir + "/LICENSE", FileInfo: mode(0o644)},
				{Source: filepath.Join(scratch, "copyright"), Destination: debDocDir + "/copyright", FileInfo: mode(0o644)},
			},
			Scripts: nfpm.Scripts{
				PostInstall: filepath.Join(scratch, "postinst"),
				PreRemove:   filepath.Join(scratch, "prerm"),
				PostRemove:  filepath.Join(scratch, "postrm"),
			},
		},
	}
	return nfpm.WithDefaults(info), nil
}

// writeDeb builds the .deb for arch into dir and returns its path,
// promfwd_<version>_<arch>.deb.
func writeDeb(root, bin, arch, version, dir string, mtime time.Time) (string, error) {
	scratch, err := os.MkdirTemp("", "promfwd-deb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scratch)
	info, err := debInfo(root, bin, arch, version, scratch, mtime)
	if err != nil {
		return "", fmt.Errorf("deb %s: %w", arch, err)
	}
	if err := nfpm.Validate(info); err != nil {
		return "", fmt.Errorf("deb %s: %w", arch, err)
	}
	out := filepath.Join(dir, deb.Default.ConventionalFileName(info))
	var buf bytes.Buffer
	if err := deb.Default.Package(info, &buf); err != nil {
		return "", fmt.Errorf("deb %s: %w", arch, err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("deb %s: %w", arch, err)
	}
	return out, nil
}

func (r *release) deb(arch, bin string) (string, error) {
	return writeDeb(r.root, bin, arch, r.version, r.out, r.created)
}

// debVersion is the Version field dpkg shows for version: semver's
// pre-release sorts before the release with ~.
func debVersion(version string) string {
	v, meta, _ := strings.Cut(version, "+")
	v = strings.Replace(v, "-", "~", 1)
	if meta != "" {
		v += "+" + meta
	}
	return v
}
