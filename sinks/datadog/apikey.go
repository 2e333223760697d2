package datadog

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// apiKey yields the API key: a static one, or the contents of a file that
// is re-read when its size or modification time changes (keys rotate).
// Errors name the file, never its contents.
type apiKey struct {
	static string
	path   string

	mu      sync.Mutex
	cached  string
	modTime time.Time
	size    int64
}

func (k *apiKey) get() (string, error) {
	if k.path == "" {
		return k.static, nil
	}
	fi, err := os.Stat(k.path)
	if err != nil {
		return "", fmt.Errorf("datadog: api_key_file: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cached != "" && fi.ModTime().Equal(k.modTime) && fi.Size() == k.size {
		return k.cached, nil
	}
	b, err := os.ReadFile(k.path)
	if err != nil {
		return "", fmt.Errorf("datadog: api_key_file: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", errEmptyKey
	}
	if strings.ContainsAny(key, "\r\n") {
		return "", errMultilineKey
	}
	k.cached, k.modTime, k.size = key, fi.ModTime(), fi.Size()
	return key, nil
}

var (
	errEmptyKey     = errors.New("datadog: api_key_file: file is empty")
	errMultilineKey = errors.New("datadog: api_key_file: key spans several lines")
)
