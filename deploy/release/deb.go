package main

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
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

// debControl is the package's control file for arch. Installed-Size is in
// KiB, as dpkg expects.
func debControl(arch, version string, installedBytes int64) string {
	return "Package: promfwd\n" +
		"Version: " + debVersion(version) + "\n" +
		"Architecture: " + arch + "\n" +
		"Maintainer: promfwd maintainers <promfwd@users.noreply.github.com>\n" +
		fmt.Sprintf("Installed-Size: %d\n", (installedBytes+1023)/1024) +
		"Section: net\n" +
		"Priority: optional\n" +
		"Homepage: https://github.com/promfwd/promfwd\n" +
		"Description: forward Prometheus/OpenMetrics samples to Splunk HEC, Datadog and remote-write\n" +
		" promfwd scrapes Prometheus and OpenMetrics endpoints on a schedule and pushes\n" +
		" every sample to Splunk HEC, Datadog or Prometheus remote-write, with disk\n" +
		" queues that survive restarts.\n"
}

// debData lists the installed files (./-relative, as dpkg-deb writes them).
func debData(root, bin string) ([]entry, error) {
	unit, err := debUnitFile(root)
	if err != nil {
		return nil, err
	}
	return []entry{
		dir(".", 0o755),
		file("."+debBinary, 0o755, bin),
		{name: "." + debUnit, mode: 0o644, data: unit},
		file("."+debConfig, 0o644, filepath.Join(root, "deploy", "systemd", "promfwd.yaml")),
		file("."+debDocDir+"/README.md", 0o644, filepath.Join(root, "README.md")),
		file("."+debDocDir+"/LICENSE", 0o644, filepath.Join(root, "LICENSE")),
		content("."+debDocDir+"/copyright", 0o644, debCopyright),
	}, nil
}

// writeDeb builds the .deb for arch into dir and returns its path,
// promfwd_<version>_<arch>.deb. A .deb is an ar archive of debian-binary,
// control.tar.gz and data.tar.gz (deb(5)); writing it takes less code than
// a packaging library's dependency tree.
func writeDeb(root, bin, arch, version, outDir string, mtime time.Time) (string, error) {
	data, err := debData(root, bin)
	if err != nil {
		return "", fmt.Errorf("deb %s: %w", arch, err)
	}
	var installed int64
	md5sums := &strings.Builder{}
	for i, e := range data {
		if strings.HasSuffix(e.name, "/") {
			continue
		}
		b := e.data
		if e.src != "" {
			if b, err = os.ReadFile(e.src); err != nil {
				return "", fmt.Errorf("deb %s: %w", arch, err)
			}
			data[i].src, data[i].data = "", b // read once
		}
		installed += int64(len(b))
		fmt.Fprintf(md5sums, "%x  %s\n", md5.Sum(b), strings.TrimPrefix(e.name, "./"))
	}
	control := []entry{
		dir(".", 0o755),
		content("./control", 0o644, debControl(arch, version, installed)),
		content("./conffiles", 0o644, debConfig+"\n"),
		content("./md5sums", 0o644, md5sums.String()),
		content("./postinst", 0o755, postinst),
		content("./prerm", 0o755, prerm),
		content("./postrm", 0o755, postrm),
	}
	var ctrlTgz, dataTgz bytes.Buffer
	for _, t := range []struct {
		w       *bytes.Buffer
		entries []entry
	}{{&ctrlTgz, control}, {&dataTgz, data}} {
		if err := writeTarGzTo(t.w, t.entries, mtime); err != nil {
			return "", fmt.Errorf("deb %s: %w", arch, err)
		}
	}
	var ar bytes.Buffer
	ar.WriteString("!<arch>\n")
	for _, m := range []struct {
		name string
		data []byte
	}{{"debian-binary", []byte("2.0\n")}, {"control.tar.gz", ctrlTgz.Bytes()}, {"data.tar.gz", dataTgz.Bytes()}} {
		fmt.Fprintf(&ar, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", m.name, mtime.Unix(), 0, 0, 0o100644, len(m.data))
		ar.Write(m.data)
		if len(m.data)%2 == 1 {
			ar.WriteByte('\n')
		}
	}
	out := filepath.Join(outDir, "promfwd_"+debVersion(version)+"_"+arch+".deb")
	if err := os.WriteFile(out, ar.Bytes(), 0o644); err != nil {
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
