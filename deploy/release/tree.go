package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"time"
)

// entry is one file or directory of a tree the tool writes as a tar
// stream: the plugin tarball and the image layer.
type entry struct {
	name     string // slash path without a leading slash; directories end in /
	mode     int64
	uid, gid int
	src      string // file to copy; "" with data for generated content
	data     []byte
}

func dir(name string, mode int64) entry { return entry{name: name + "/", mode: mode} }

func file(name string, mode int64, src string) entry { return entry{name: name, mode: mode, src: src} }

func content(name string, mode int64, data string) entry {
	return entry{name: name, mode: mode, data: []byte(data)}
}

// writeTar writes entries in order, with parent directories the list does
// not name added (0755, root) so every extractor recreates the tree.
func writeTar(w io.Writer, entries []entry, mtime time.Time) error {
	tw := tar.NewWriter(w)
	seen := map[string]bool{}
	var parents func(p string) error
	parents = func(p string) error {
		d := path.Dir(p)
		if d == "." || d == "/" || seen[d+"/"] {
			return nil
		}
		if err := parents(d); err != nil {
			return err
		}
		seen[d+"/"] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX})
	}
	for _, e := range entries {
		trimmed := e.name
		if trimmed[len(trimmed)-1] == '/' {
			trimmed = trimmed[:len(trimmed)-1]
		}
		if err := parents(trimmed); err != nil {
			return err
		}
		hdr := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: mtime, Format: tar.FormatPAX}
		if e.name[len(e.name)-1] == '/' {
			if seen[e.name] {
				continue
			}
			seen[e.name] = true
			hdr.Typeflag = tar.TypeDir
			if err := tw.WriteHeader(hdr); err != nil {
				return fmt.Errorf("tar %s: %w", e.name, err)
			}
			continue
		}
		data := e.data
		if e.src != "" {
			b, err := os.ReadFile(e.src)
			if err != nil {
				return fmt.Errorf("read %s: %w", e.src, err)
			}
			data = b
		}
		hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("tar %s: %w", e.name, err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("tar %s: %w", e.name, err)
		}
	}
	return tw.Close()
}

// writeTarGz writes entries as a gzip-compressed tarball at p.
func writeTarGz(p string, entries []entry, mtime time.Time) (err error) {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if err := writeTarGzTo(f, entries, mtime); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// writeTarGzTo writes entries to w as a gzip-compressed tarball.
func writeTarGzTo(w io.Writer, entries []entry, mtime time.Time) error {
	zw := gzip.NewWriter(w)
	if err := writeTar(zw, entries, mtime); err != nil {
		return err
	}
	return zw.Close()
}
