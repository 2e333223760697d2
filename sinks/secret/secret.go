// Package secret yields a sink's credential (HEC token, Datadog API key):
// a static value, or the content of a file re-read when its size or
// modification time changes, or after the destination refused it, so keys
// rotate without a restart. Errors name the file, never its content.
package secret

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Source is one credential. It is safe for concurrent use.
type Source struct {
	what   string // "hec: token_file": prefix of every error
	static string
	path   string
	onErr  func(error)

	mu    sync.Mutex
	cur   string
	mtime time.Time
	size  int64
	stale bool
}

// New returns a Source for a static value or, when path is set, a file.
// what prefixes errors ("hec: token_file"). It reads the file once so a
// missing or empty one is reported at start.
func New(what, static, path string) (*Source, error) {
	s := &Source{what: what, static: static, path: path}
	if _, err := s.Get(); err != nil {
		return nil, err
	}
	return s, nil
}

// Open returns a Source like New but does not fail when the file cannot be
// read yet: the sink starts, and every Get reports the problem (and calls
// onErr, if set, so the sink can mark itself unhealthy) until the file is
// there.
func Open(what, static, path string, onErr func(error)) *Source {
	return &Source{what: what, static: static, path: path, onErr: onErr}
}

// Get returns the current value.
func (s *Source) Get() (string, error) {
	v, err := s.get()
	if err != nil && s.onErr != nil {
		s.onErr(err)
	}
	return v, err
}

func (s *Source) get() (string, error) {
	if s.path == "" {
		return s.static, nil
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.what, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stale && s.cur != "" && fi.ModTime().Equal(s.mtime) && fi.Size() == s.size {
		return s.cur, nil
	}
	b, err := os.ReadFile(s.path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.what, err)
	}
	v := strings.TrimSpace(string(b))
	switch {
	case v == "":
		return "", fmt.Errorf("%s: %s is empty", s.what, s.path)
	case strings.ContainsAny(v, "\r\n"):
		return "", errors.New(s.what + ": " + s.path + " holds several lines; want the secret alone")
	}
	s.cur, s.mtime, s.size, s.stale = v, fi.ModTime(), fi.Size(), false
	return v, nil
}

// Invalidate makes the next Get re-read the file (after a 401/403: it may
// have been rotated within the file system's timestamp granularity).
func (s *Source) Invalidate() {
	s.mu.Lock()
	s.stale = true
	s.mu.Unlock()
}

// Redact replaces the secret in text (a receiver's free text) with <secret>.
func (s *Source) Redact(text string) string {
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	return Mask(text, s.static, cur)
}
