// Command release builds everything a user installs into dist/: static
// promfwd binaries for linux/amd64 and linux/arm64, a .deb per
// architecture, the Docker plugin (config.json + rootfs) as a tarball, an
// OCI image tarball for `docker load`, and SHA256SUMS. It needs no Docker
// daemon and no registry:
//
//	go run ./deploy/release [-version 1.2.3] [-out dist]
//
// Run it from the repository root. Only this tool imports the packaging
// library (go-containerregistry); the promfwd binary does not.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "", "version to stamp (default: from `git describe`, else 0.0.0-dev)")
	out := fs.String("out", "dist", "output directory (emptied first)")
	archs := fs.String("arch", "amd64,arm64", "comma-separated GOARCH list")
	caFile := fs.String("ca-certificates", defaultCAFile, "CA bundle put into the image and the plugin (Debian ca-certificates)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *version == "" {
		*version = gitVersion(ctx)
	}
	r := &release{
		version: strings.TrimPrefix(*version, "v"),
		out:     *out,
		archs:   strings.Split(*archs, ","),
		caFile:  *caFile,
		root:    ".",
		created: sourceDate(ctx),
		log:     stdout,
	}
	start := time.Now()
	if err := r.all(ctx); err != nil {
		fmt.Fprintf(stderr, "release: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "release %s done in %s\n", r.version, time.Since(start).Round(100*time.Millisecond))
	return 0
}

// release is one run of the tool.
type release struct {
	version string   // without a leading v
	out     string   // dist directory
	archs   []string // GOARCH values
	caFile  string   // CA bundle to ship
	root    string   // repository root
	created time.Time
	log     io.Writer
}

// all produces every artifact, then SHA256SUMS over them.
func (r *release) all(ctx context.Context) error {
	if err := os.RemoveAll(r.out); err != nil {
		return fmt.Errorf("clean %s: %w", r.out, err)
	}
	if err := os.MkdirAll(r.out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", r.out, err)
	}
	var artifacts []string
	for _, arch := range r.archs {
		bin := filepath.Join(r.out, fmt.Sprintf("promfwd_%s_linux_%s", r.version, arch))
		if err := buildBinary(ctx, r.root, arch, r.version, bin); err != nil {
			return err
		}
		lean := filepath.Join(r.out, fmt.Sprintf("promfwd-nokubernetes_%s_linux_%s", r.version, arch))
		if err := buildBinary(ctx, r.root, arch, r.version, lean, leanTags...); err != nil {
			return err
		}
		// A systemd host and the Docker daemon's plugin do not discover
		// Kubernetes targets: they get the lean binary.
		deb, err := r.deb(arch, lean)
		if err != nil {
			return err
		}
		plugin := filepath.Join(r.out, fmt.Sprintf("promfwd-docker-plugin_%s_linux_%s.tar.gz", r.version, arch))
		if err := writePluginTarball(plugin, r.pluginFiles(lean), r.created); err != nil {
			return err
		}
		image := filepath.Join(r.out, fmt.Sprintf("promfwd-image_%s_linux_%s.tar", r.version, arch))
		if err := r.image(arch, bin, image); err != nil {
			return err
		}
		artifacts = append(artifacts, bin, lean, deb, plugin, image)
	}
	sums := filepath.Join(r.out, "SHA256SUMS")
	if err := writeSums(sums, artifacts); err != nil {
		return err
	}
	for _, a := range append(artifacts, sums) {
		st, err := os.Stat(a)
		if err != nil {
			return err
		}
		fmt.Fprintf(r.log, "%10s  %s\n", humanSize(st.Size()), a)
	}
	return nil
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// gitVersion is `git describe --tags --dirty` without the v, or
// 0.0.0-dev+<commit> before the first tag, or 0.0.0-dev outside git.
func gitVersion(ctx context.Context) string {
	if out, err := exec.CommandContext(ctx, "git", "describe", "--tags", "--dirty", "--match", "v[0-9]*").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	if out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short=12", "HEAD").Output(); err == nil {
		return "0.0.0-dev+" + strings.TrimSpace(string(out))
	}
	return "0.0.0-dev"
}

// sourceDate is $SOURCE_DATE_EPOCH, else the last commit's time, else now:
// file times and the image's creation date, so rebuilds of one commit
// give the same bytes.
func sourceDate(ctx context.Context) time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		var sec int64
		if _, err := fmt.Sscan(s, &sec); err == nil {
			return time.Unix(sec, 0).UTC()
		}
	}
	if out, err := exec.CommandContext(ctx, "git", "log", "-1", "--format=%ct").Output(); err == nil {
		var sec int64
		if _, err := fmt.Sscan(string(out), &sec); err == nil {
			return time.Unix(sec, 0).UTC()
		}
	}
	return time.Now().UTC().Truncate(time.Second)
}
