package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/sys/unix"
)

// dataDirPos remembers where data_dir is in the file, for CheckDataDir.
type dataDirPos struct {
	line, col int
	fromEnv   bool // the value came from ${VAR}: never echo it
}

func (c *Config) noteDataDir(d *decoder, root *yaml.Node) {
	n := child(root, "data_dir")
	if n == nil {
		c.dataDirAt = nil
		return
	}
	c.dataDirAt = &dataDirPos{line: n.Line, col: n.Column, fromEnv: d.tainted[n]}
}

// CheckDataDir tells whether `run` will be able to use data_dir as the user
// running it: for every sink, data_dir/<sink>/queue must be a directory or
// creatable as one, writable, and on a file system that supports the lock
// the disk queue takes. It probes with a temporary file that it removes, so
// it leaves nothing behind, and it never takes the queue's own lock (the
// service may be running on this config). Load does not call it: loading
// stays free of side effects. The error is a *ConfigError at data_dir.
func (c *Config) CheckDataDir() error {
	if c.DataDir == "" {
		return nil
	}
	probed := map[string]bool{}
	for _, s := range c.Sinks {
		if err := checkQueueDir(filepath.Join(c.DataDir, s.Name), probed); err != nil {
			return c.dataDirErr(fmt.Sprintf("sink %s: %v", s.Name, err))
		}
	}
	return nil
}

func (c *Config) dataDirErr(msg string) error {
	e := &ConfigError{File: c.File, Path: "data_dir", Msg: msg}
	if p := c.dataDirAt; p != nil {
		e.Line, e.Column = p.line, p.col
		if p.fromEnv {
			e.Msg = strings.ReplaceAll(e.Msg, c.DataDir, "<from environment>")
		}
	}
	return e
}

// checkQueueDir checks that sinkDir and sinkDir/queue (what the disk queue
// and state.bin need) can be used; probed caches directories already
// probed.
func checkQueueDir(sinkDir string, probed map[string]bool) error {
	// The deepest existing directory on the way to the queue directory is
	// where run's MkdirAll or file creation happens first.
	dir := filepath.Join(sinkDir, "queue")
	var missing []string
	for {
		fi, err := os.Stat(dir)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not a directory", dir)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot use %s: %w", dir, unwrapPath(err))
		}
		missing = append(missing, dir)
		parent := filepath.Dir(dir)
		if parent == dir {
			return fmt.Errorf("no existing directory above %s", sinkDir)
		}
		dir = parent
	}
	if !probed[dir] {
		if err := probeDir(dir); err != nil {
			what := "cannot write in"
			if len(missing) > 0 {
				what = fmt.Sprintf("cannot create %s: cannot write in", missing[len(missing)-1])
			}
			return fmt.Errorf("%s %s: %w", what, dir, err)
		}
		probed[dir] = true
	}
	if len(missing) == 0 {
		// The queue exists: its lock file must open read-write (run
		// creates it otherwise, which the probe covered).
		lock := filepath.Join(dir, "LOCK")
		f, err := os.OpenFile(lock, os.O_RDWR, 0)
		if err == nil {
			_ = f.Close()
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot open %s for writing: %w", lock, unwrapPath(err))
		}
	}
	return nil
}

// probeDir creates, locks and removes a temporary file in dir: what the
// disk queue does with its LOCK file and segments.
func probeDir(dir string) error {
	f, err := os.CreateTemp(dir, ".promfwd-check-*")
	if err != nil {
		return unwrapPath(err)
	}
	defer func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("file locks not supported: %w", err)
	}
	if _, err := f.Write([]byte("x")); err != nil {
		return unwrapPath(err)
	}
	return nil
}

// unwrapPath drops the *PathError wrapper, whose text repeats the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
