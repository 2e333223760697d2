package hec

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// tokenSource yields the HEC token, re-reading token_file when its size or
// modification time changes, or after the server refused the token.
type tokenSource struct {
	static string
	path   string

	mu    sync.Mutex
	cur   string
	mtime time.Time
	size  int64
	stale bool
}

func newTokenSource(static, path string) (*tokenSource, error) {
	t := &tokenSource{static: static, path: path}
	if _, err := t.get(); err != nil {
		return nil, err
	}
	return t, nil
}

// get returns the current token. Errors name the file, never its content.
func (t *tokenSource) get() (string, error) {
	if t.path == "" {
		return t.static, nil
	}
	fi, err := os.Stat(t.path)
	if err != nil {
		return "", fmt.Errorf("hec: token_file: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stale && t.cur != "" && fi.ModTime().Equal(t.mtime) && fi.Size() == t.size {
		return t.cur, nil
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return "", fmt.Errorf("hec: token_file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", errors.New("hec: token_file " + t.path + " is empty")
	}
	t.cur, t.mtime, t.size, t.stale = tok, fi.ModTime(), fi.Size(), false
	return tok, nil
}

// invalidate forces the next get to re-read the file (after a 401/403: the
// token may have been rotated within the file's timestamp granularity).
func (t *tokenSource) invalidate() {
	t.mu.Lock()
	t.stale = true
	t.mu.Unlock()
}

// redact replaces the token in s (a receiver's free text) with <secret>.
func (t *tokenSource) redact(s string) string {
	t.mu.Lock()
	cur := t.cur
	t.mu.Unlock()
	for _, tok := range [...]string{t.static, cur} {
		if tok != "" {
			s = strings.ReplaceAll(s, tok, "<secret>")
		}
	}
	return s
}
