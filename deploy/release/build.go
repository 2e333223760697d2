package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// defaultCAFile is Debian's ca-certificates bundle.
const defaultCAFile = "/etc/ssl/certs/ca-certificates.crt"

// versionVar is the variable -X stamps in cmd/promfwd.
const versionVar = "main.buildVersion"

// leanTags build the binary the .deb and the Docker plugin ship: without
// Kubernetes discovery, whose client-go maps ~14 MiB more of the binary
// into every process (README "Kubernetes discovery"). The container image,
// where Kubernetes discovery runs, and the standalone binary keep it.
var leanTags = []string{"nokubernetes"}

// buildBinary builds a static linux/arch promfwd into out: no cgo,
// -trimpath, symbol tables stripped, version stamped, with the build tags
// given.
func buildBinary(ctx context.Context, root, arch, version, out string, tags ...string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	args := []string{"build", "-trimpath", "-buildvcs=false",
		"-ldflags", fmt.Sprintf("-s -w -X %s=%s", versionVar, version)}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "-o", abs, "./cmd/promfwd")...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build linux/%s: %w\n%s", arch, err, out)
	}
	return nil
}

// writeSums writes SHA256SUMS in the format `sha256sum -c` reads, with
// paths relative to the file's directory.
func writeSums(path string, files []string) error {
	var b strings.Builder
	for _, f := range files {
		sum, err := fileSHA256(f)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(filepath.Dir(path), f)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, filepath.ToSlash(rel))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
