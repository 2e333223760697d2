package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/promfwd/promfwd/sinks/diskqueue"
)

// tree lists every path under dir (relative), to show what a check left.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// readOnlyMount makes dir a read-only bind mount of itself (as a read-only
// volume would be), or skips when this process may not mount.
func readOnlyMount(t *testing.T, dir string) {
	t.Helper()
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind-mount here (%v): the read-only volume case needs CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount read-only: %v", err)
	}
}

// TestCheckDataDir (issue 21.15): `check` must refuse a data_dir that
// `run` refuses, pass one that run can use (also while a running service
// holds the queue lock), and leave nothing behind. Each case also opens
// the disk queue as run does, to show the verdicts agree.
func TestCheckDataDir(t *testing.T) {
	cases := []struct {
		name string
		// setup returns data_dir, made under base.
		setup func(t *testing.T, base string) string
		// want is the error after "check.yaml:1:11: data_dir: sink out: ",
		// with $D for data_dir; "" means it passes.
		want string
		// locked: a running service holds the queue, so run's open fails
		// for that reason alone.
		locked bool
	}{
		{name: "existing empty dir", setup: func(t *testing.T, base string) string { return base }},
		{name: "missing dir under a writable parent", setup: func(t *testing.T, base string) string {
			return filepath.Join(base, "a", "b")
		}},
		{name: "queue locked by a running service", locked: true, setup: func(t *testing.T, base string) string {
			q, err := diskqueue.Open(filepath.Join(base, "out", "queue"), diskqueue.Options{MaxBytes: 1 << 20, Lanes: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = q.Release() })
			return base
		}},
		{name: "data_dir is a file", want: "cannot use $D/out/queue: not a directory", setup: func(t *testing.T, base string) string {
			p := filepath.Join(base, "file")
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{name: "queue is a file", want: "$D/out/queue is not a directory", setup: func(t *testing.T, base string) string {
			if err := os.MkdirAll(filepath.Join(base, "out"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(base, "out", "queue"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return base
		}},
		{name: "read-only volume", want: "cannot create $D/out: cannot write in $D: read-only file system", setup: func(t *testing.T, base string) string {
			readOnlyMount(t, base)
			return base
		}},
		{name: "read-only volume with a queue", want: "cannot write in $D/out/queue: read-only file system", setup: func(t *testing.T, base string) string {
			q, err := diskqueue.Open(filepath.Join(base, "out", "queue"), diskqueue.Options{MaxBytes: 1 << 20, Lanes: 1})
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Release(); err != nil {
				t.Fatal(err)
			}
			readOnlyMount(t, base)
			return base
		}},
		{name: "no write permission", want: "cannot create $D/out: cannot write in $D: permission denied", setup: func(t *testing.T, base string) string {
			if os.Geteuid() == 0 {
				t.Skip("root writes through permission bits (and so does run as root)")
			}
			if err := os.Chmod(base, 0o555); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(base, 0o755) })
			return base
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := tc.setup(t, t.TempDir())
			cfg, err := Load("check.yaml", []byte(fmt.Sprintf("data_dir: %s\nsources: [{name: a, url: http://a/m}]\nsinks: [{name: out, type: stdout}]\n", dataDir)))
			if err != nil {
				t.Fatal(err)
			}
			top := filepath.Dir(dataDir)
			before := tree(t, top)
			err = cfg.CheckDataDir()
			if after := tree(t, top); !slices.Equal(before, after) {
				t.Errorf("check changed the tree:\nbefore %v\nafter  %v", before, after)
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckDataDir: %v", err)
				}
			} else {
				want := "check.yaml:1:11: data_dir: sink out: " + strings.ReplaceAll(tc.want, "$D", dataDir)
				var ce *ConfigError
				if !errors.As(err, &ce) || err.Error() != want {
					t.Fatalf("CheckDataDir = %v\nwant %s", err, want)
				}
			}
			// What run does with data_dir/<sink>/queue.
			q, openErr := diskqueue.Open(filepath.Join(dataDir, "out", "queue"), diskqueue.Options{MaxBytes: 1 << 20, Lanes: 1})
			if openErr == nil {
				_ = q.Release()
			}
			switch {
			case tc.locked:
				if !errors.Is(openErr, diskqueue.ErrLocked) {
					t.Errorf("run's open: %v, want ErrLocked", openErr)
				}
			case (openErr == nil) != (err == nil):
				t.Errorf("check says %v, run's open says %v", err, openErr)
			}
		})
	}
}

// TestCheckDataDirFromEnv: a data_dir from ${VAR} is not echoed.
func TestCheckDataDirFromEnv(t *testing.T) {
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := load("env.yaml", []byte("data_dir: ${DD}\nsources: [{name: a, url: http://a/m}]\nsinks: [{name: out, type: stdout}]\n"), testEnv(map[string]string{"DD": p}))
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.CheckDataDir()
	if err == nil || strings.Contains(err.Error(), p) || !strings.HasPrefix(err.Error(), "env.yaml:1:11: data_dir: sink out: cannot use <from environment>/out/queue") {
		t.Fatalf("CheckDataDir = %v", err)
	}
}
