package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStatic(t *testing.T) {
	s, err := New("x: token", "abc", "")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(); v != "abc" || err != nil {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if got := s.Redact("bad token abc here"); got != "bad token <secret> here" {
		t.Errorf("Redact = %q", got)
	}
}

func TestFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(path, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New("hec: token_file", "", path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get(); v != "first" {
		t.Fatalf("Get = %q", v)
	}
	// Same size, new mtime: re-read.
	if err := os.WriteFile(path, []byte("secnd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get(); v != "secnd" {
		t.Fatalf("after rotation Get = %q", v)
	}
	// Same size and mtime: only Invalidate forces a re-read.
	if err := os.WriteFile(path, []byte("third\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get(); v != "secnd" {
		t.Fatalf("cached Get = %q", v)
	}
	s.Invalidate()
	if v, _ := s.Get(); v != "third" {
		t.Fatalf("after Invalidate Get = %q", v)
	}
	if got := s.Redact("third refused"); got != "<secret> refused" {
		t.Errorf("Redact = %q", got)
	}
}

func TestFileErrorsNeverShowContent(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, content, want string
	}{
		{"empty", "  \n", "is empty"},
		{"multiline", "key-one\nkey-two\n", "several lines"},
		{"missing", "", "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if c.name != "missing" {
				if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := New("datadog: api_key_file", "", path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "datadog: api_key_file: ") {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "key-one") {
				t.Errorf("error shows the content: %v", err)
			}
		})
	}
}
