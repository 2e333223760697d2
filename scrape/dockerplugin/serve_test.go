package dockerplugin

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListenCreatesSocketWithMode(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "plugins", "promfwd.sock") // parent created
	ln, err := Listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fi, err := os.Lstat(socket)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != SocketMode {
		t.Fatalf("socket mode = %v, want socket %v", fi.Mode(), SocketMode)
	}
	if got := ln.Addr().String(); got != socket {
		t.Fatalf("Addr = %q, want %q", got, socket)
	}
	entries, err := os.ReadDir(filepath.Dir(socket))
	if err != nil || len(entries) != 1 {
		t.Fatalf("directory holds %v (%v), want only the socket", entries, err)
	}
}

func TestListenExistingPath(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, path string)
		wantErr string // "" means Listen succeeds
		wantIs  error
	}{
		{name: "stale socket is replaced", prepare: func(t *testing.T, path string) {
			l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			l.SetUnlinkOnClose(false) // what a crash leaves behind
			l.Close()
		}},
		{name: "live socket is refused", prepare: func(t *testing.T, path string) {
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}, wantIs: ErrSocketInUse},
		{name: "regular file is kept", prepare: func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "exists and is not a socket"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "promfwd.sock")
			tc.prepare(t, path)
			before, _ := os.Lstat(path)
			ln, err := Listen(path)
			if tc.wantErr == "" && tc.wantIs == nil {
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				ln.Close()
				return
			}
			if err == nil {
				ln.Close()
				t.Fatal("Listen succeeded, want error")
			}
			if (tc.wantIs != nil && !errors.Is(err, tc.wantIs)) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Listen error = %v", err)
			}
			if after, statErr := os.Lstat(path); statErr != nil || !os.SameFile(before, after) {
				t.Fatalf("existing file was touched: %v", statErr)
			}
		})
	}
}

func TestCloseRemovesOnlyItsOwnSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "promfwd.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ln.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket still present after Close: %v", err)
	}

	// A newer instance replaced our socket: closing the old listener must
	// not remove the newer one.
	old, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	newer, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer newer.Close()
	old.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("old listener removed the newer socket: %v", err)
	}
}

func TestServeStopsOnContextAndRemovesSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "promfwd.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewServer(&recorder{}, nil).ServeListener(ctx, ln) }()
	// The server answers before cancellation...
	if a := daemonCall(t, unixClient(t, path), "POST", "/Plugin.Activate", nil); a.status != 200 {
		t.Fatalf("activate: %+v", a)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ServeListener after cancel = %v, want nil", err)
	}
	// ...and leaves nothing behind.
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left after shutdown: %v", err)
	}
}

func TestServeReportsListenErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "promfwd.sock")
	if err := os.Mkdir(path, 0o755); err != nil { // a directory where the socket goes
		t.Fatal(err)
	}
	err := NewServer(&recorder{}, nil).Serve(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Serve = %v, want an error naming %s", err, path)
	}
}
