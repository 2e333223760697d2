package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests build the release artifacts once, for the host's
// architecture, and the install tests (dpkg, docker) use those very files.

const (
	testVersion = "0.9.1-test"
	repoRoot    = "../.."
	// wait bounds anything the tests wait for.
	wait = 60 * time.Second
)

var (
	buildOnce sync.Once
	built     *builtArtifacts
	buildErr  error
	distDir   string
)

// builtArtifacts are the paths of one architecture's artifacts.
type builtArtifacts struct {
	binary, lean, deb, plugin, image, sums string
	log                                    string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if distDir != "" {
		_ = os.RemoveAll(distDir)
	}
	os.Exit(code)
}

// artifacts runs the release command, as a user would (built without the
// test's -race, which would slow its compression down several times), for
// runtime.GOARCH into a temp dist dir, once per test binary.
func artifacts(t *testing.T) *builtArtifacts {
	t.Helper()
	if _, err := os.Stat(defaultCAFile); err != nil {
		unavailable(t, "no CA bundle at "+defaultCAFile+" (Debian: apt-get install ca-certificates)")
	}
	buildOnce.Do(func() {
		distDir, buildErr = os.MkdirTemp("", "promfwd-dist-")
		if buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		tool := filepath.Join(distDir, "release")
		build := exec.CommandContext(ctx, "go", "build", "-o", tool, ".")
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./deploy/release: %w\n%s", err, out)
			return
		}
		out := filepath.Join(distDir, "dist")
		rel := exec.CommandContext(ctx, tool, "-version", "v"+testVersion, "-arch", runtime.GOARCH, "-out", out)
		rel.Dir = repoRoot
		rel.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000")
		log, err := rel.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("release: %w\n%s", err, log)
			return
		}
		a := runtime.GOARCH
		built = &builtArtifacts{
			binary: filepath.Join(out, "promfwd_"+testVersion+"_linux_"+a),
			lean:   filepath.Join(out, "promfwd-nokubernetes_"+testVersion+"_linux_"+a),
			deb:    filepath.Join(out, "promfwd_"+debVersion(testVersion)+"_"+a+".deb"),
			plugin: filepath.Join(out, "promfwd-docker-plugin_"+testVersion+"_linux_"+a+".tar.gz"),
			image:  filepath.Join(out, "promfwd-image_"+testVersion+"_linux_"+a+".tar"),
			sums:   filepath.Join(out, "SHA256SUMS"),
			log:    string(log),
		}
	})
	if buildErr != nil {
		t.Fatalf("release: %v", buildErr)
	}
	return built
}

// unavailable skips a test whose system dependency is missing on a
// developer machine, and fails it in CI (CI=true), where .ci/run provides
// the dependency: a CI run never passes by skipping.
func unavailable(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: %s", why)
	}
	t.Skipf("skipped: %s (.ci/run installs and starts what it needs; with CI=true this fails)", why)
}

// needRoot gates tests that install packages or talk to dockerd.
func needRoot(t *testing.T, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, what+" needs root")
	}
}

// needCommand gates on a tool being on PATH.
func needCommand(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		unavailable(t, name+" not found (Debian package "+pkg+")")
	}
}

// needDocker gates on a Docker daemon answering.
func needDocker(t *testing.T) {
	t.Helper()
	needRoot(t, "talking to dockerd")
	needCommand(t, "docker", "docker.io")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		unavailable(t, "no Docker daemon answers (`docker info`: "+strings.TrimSpace(string(out))+"); start one with .ci/dockerd")
	}
}

// cmd runs a command and fails the test on error, returning its
// combined output.
func cmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := tryCmd(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func tryCmd(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// waitUntil polls cond until it holds or wait passes.
// A state function, if given, describes what was seen on timeout.
func waitUntil(t *testing.T, what string, cond func() bool, state ...func() string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			var seen []string
			for _, s := range state {
				seen = append(seen, s())
			}
			t.Fatalf("timed out after %v waiting for %s %s", wait, what, strings.Join(seen, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// builtArch is the architecture the tests build for.
func builtArch() string { return runtime.GOARCH }
