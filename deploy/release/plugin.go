package main

import (
	"path/filepath"
	"time"
)

// pluginFiles is the Docker plugin as `docker plugin create` takes it:
// config.json beside rootfs/, which holds the static binary, the CA bundle
// (for HTTPS sinks) and the mount points config.json names. No base image.
func (r *release) pluginFiles(bin string) []entry {
	return pluginEntries(r.root, bin, r.caFile)
}

func pluginEntries(root, bin, caFile string) []entry {
	return []entry{
		file("config.json", 0o644, filepath.Join(root, "deploy", "docker-plugin", "config.json")),
		file("rootfs/usr/local/bin/promfwd", 0o755, bin),
		file("rootfs/etc/ssl/certs/ca-certificates.crt", 0o644, caFile),
		dir("rootfs/etc/promfwd", 0o755),     // "config" mount
		dir("rootfs/var/lib/promfwd", 0o700), // "data" mount
		dir("rootfs/run/docker/plugins", 0o755),
		dir("rootfs/tmp", 0o1777),
	}
}

// writePluginTarball writes the plugin directory as a .tar.gz: unpack it
// and run `docker plugin create NAME DIR`.
func writePluginTarball(p string, entries []entry, mtime time.Time) error {
	return writeTarGz(p, entries, mtime)
}
