package dockerplugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// SocketMode is the permission of the plugin socket: the daemon (root) and
// the socket's group may connect, nobody else.
const SocketMode os.FileMode = 0o660

const (
	shutdownTimeout   = 5 * time.Second
	readHeaderTimeout = 10 * time.Second
)

// ErrSocketInUse means another live process answers on the socket path.
var ErrSocketInUse = errors.New("dockerplugin: socket in use by another process")

// Serve listens on socketPath (see Listen) and answers the daemon until ctx
// is done, then shuts down gracefully and removes the socket. It returns nil
// after a shutdown caused by ctx.
func (s *Server) Serve(ctx context.Context, socketPath string) error {
	ln, err := Listen(socketPath)
	if err != nil {
		return err
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener is Serve on a listener the caller opened, for callers that
// must know the socket exists before serving begins (tests, readiness).
// The listener is closed on return.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		// Calls in flight see ctx's cancellation, so Shutdown is prompt.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    zap.NewStdLog(s.log),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("docker plugin socket listening", zap.String("socket", ln.Addr().String()))
	select {
	case err := <-errc:
		ln.Close()
		return fmt.Errorf("dockerplugin: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("dockerplugin: serve %s: %w", ln.Addr(), err)
	}
	if shutdownErr != nil {
		return fmt.Errorf("dockerplugin: shutdown %s: %w", ln.Addr(), shutdownErr)
	}
	return nil
}

// Listen creates the plugin socket at path with SocketMode permissions. A
// stale socket left by a crashed run is removed; a socket another process
// still answers on is ErrSocketInUse; any other file at path is an error
// (never deleted). The socket is created under a temporary name, chmod-ed,
// then renamed into place, so the daemon never sees it with the umask's
// permissions. Closing the listener removes the socket file if it is still
// the one Listen created.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("dockerplugin: socket directory: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+strconv.Itoa(os.Getpid())+".tmp")
	_ = os.Remove(tmp) // our own leftover from a previous run with this PID
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("dockerplugin: listen %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false) // the name changes below; Close removes the final one
	fail := func(err error) (net.Listener, error) {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("dockerplugin: listen %s: %w", path, err)
	}
	if err := os.Chmod(tmp, SocketMode); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	info, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return &socketListener{UnixListener: ln, path: path, info: info}, nil
}

// removeStale clears path for a new socket, or says why it cannot.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dockerplugin: socket %s: %w", path, err)
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("dockerplugin: %s exists and is not a socket", path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("%w: %s", ErrSocketInUse, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("dockerplugin: probe existing socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("dockerplugin: remove stale socket: %w", err)
	}
	return nil
}

// socketListener removes its socket file on Close, unless the file has since
// been replaced (by a newer instance that removed ours as stale).
type socketListener struct {
	*net.UnixListener
	path string
	info os.FileInfo
	once sync.Once
}

// Close stops listening and removes the socket file.
func (l *socketListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if fi, statErr := os.Lstat(l.path); statErr == nil && os.SameFile(fi, l.info) {
			if rmErr := os.Remove(l.path); rmErr != nil && err == nil {
				err = fmt.Errorf("dockerplugin: remove socket: %w", rmErr)
			}
		}
	})
	return err
}

// Addr reports the final socket path, not the temporary bind name.
func (l *socketListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }
