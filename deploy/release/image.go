package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// imageRepo is the image's name; deploy/kubernetes refers to it.
const imageRepo = "ghcr.io/promfwd/promfwd"

// Non-root identity of the image (distroless' "nonroot"), also
// runAsUser/runAsGroup in deploy/kubernetes.
const (
	imageUID  = 65532
	imageUser = "65532:65532"
)

// imageEntries is the image's single layer: the static binary, the CA
// bundle, a passwd/group naming the non-root user, a writable /tmp and the
// data_dir owned by that user. No shell, no package manager.
func imageEntries(bin, caFile string) []entry {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", imageUID, imageUID)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", imageUID)
	home := dir("home/nonroot", 0o700)
	home.uid, home.gid = imageUID, imageUID
	data := dir("var/lib/promfwd", 0o700)
	data.uid, data.gid = imageUID, imageUID
	return []entry{
		file("usr/local/bin/promfwd", 0o755, bin),
		file("etc/ssl/certs/ca-certificates.crt", 0o644, caFile),
		content("etc/passwd", 0o644, passwd),
		content("etc/group", 0o644, group),
		dir("etc/promfwd", 0o755),
		home,
		data,
		dir("tmp", 0o1777),
	}
}

// buildImage assembles the OCI image for arch in memory.
func buildImage(entries []entry, arch, version string, created time.Time) (v1.Image, error) {
	var layerTar bytes.Buffer
	if err := writeTar(&layerTar, entries, created); err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	raw := layerTar.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: created}, CreatedBy: "go run ./deploy/release", Comment: "promfwd static binary, CA certificates, non-root user",
	}})
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	if arch == "arm64" {
		cf.Variant = "v8"
	}
	cf.Created = v1.Time{Time: created}
	cf.Config = v1.Config{
		User:       imageUser,
		Entrypoint: []string{"/usr/local/bin/promfwd", "run"},
		WorkingDir: "/",
		Env: []string{
			"PATH=/usr/local/bin",
			"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
		},
		Volumes: map[string]struct{}{"/var/lib/promfwd": {}},
		Labels:  imageLabels(version, created),
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	return img, nil
}

// imageLabels are the standard org.opencontainers.image.* annotations.
func imageLabels(version string, created time.Time) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":         "promfwd",
		"org.opencontainers.image.description":   "Scrape Prometheus/OpenMetrics endpoints and forward the samples to Splunk HEC, Datadog or Prometheus remote-write",
		"org.opencontainers.image.version":       version,
		"org.opencontainers.image.created":       created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.source":        "https://github.com/promfwd/promfwd",
		"org.opencontainers.image.url":           "https://github.com/promfwd/promfwd",
		"org.opencontainers.image.documentation": "https://github.com/promfwd/promfwd#install",
		"org.opencontainers.image.licenses":      "Apache-2.0",
		"org.opencontainers.image.vendor":        "promfwd",
	}
}

// imageTags are the names the tarball carries: the version and latest.
func imageTags(version string) ([]name.Tag, error) {
	// Docker tags allow [A-Za-z0-9_.-]: semver build metadata's + is not.
	v := strings.ReplaceAll(version, "+", "-")
	var tags []name.Tag
	for _, t := range []string{v, "latest"} {
		tag, err := name.NewTag(imageRepo+":"+t, name.StrictValidation)
		if err != nil {
			return nil, fmt.Errorf("image tag %q: %w", t, err)
		}
		tags = append(tags, tag)
	}
	return tags, nil
}

// image writes the image for arch as a tarball `docker load` reads.
func (r *release) image(arch, bin, out string) error {
	img, err := buildImage(imageEntries(bin, r.caFile), arch, r.version, r.created)
	if err != nil {
		return err
	}
	return writeImage(out, img, r.version)
}

func writeImage(out string, img v1.Image, version string) error {
	tags, err := imageTags(version)
	if err != nil {
		return err
	}
	refs := map[name.Reference]v1.Image{}
	for _, t := range tags {
		refs[t] = img
	}
	if err := tarball.MultiRefWriteToFile(out, refs); err != nil {
		return fmt.Errorf("write image %s: %w", out, err)
	}
	return nil
}
