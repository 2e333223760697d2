package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: Load never panics, every failure is a *ConfigError, and an
// accepted config without inline secrets loads again from its own
// Redacted() output to an equal config, which renders identically.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"testdata/config/good/*.yaml", "testdata/config/bad/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("sources: [{name: a, url: 'unix:///s'}]\nsinks: [{name: b, type: stdout, max_queue_bytes: 1000}]\n"))
	f.Add([]byte("sources: [{name: a, url: 'http://h/', labels: {x: '$$', y: '${EMPTY}'}}]\nsinks: [{name: b, type: stdout}]\n"))
	f.Add([]byte("a: &a [*a]\n"))
	env := testEnv(nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := load("fuzz.yaml", data, env)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error is %T, want *ConfigError: %v", err, err)
			}
			return
		}
		out, err := cfg.Redacted()
		if err != nil {
			t.Fatalf("Redacted: %v", err)
		}
		if cfg.HasSecrets() || bytes.Contains(out, []byte("<secret>")) {
			return // redacted values (secrets, URL query values) do not load back as themselves
		}
		again, err := load("fuzz.yaml", out, env)
		if err != nil {
			t.Fatalf("reload of Redacted output failed: %v\ninput:\n%s\nrendered:\n%s", err, data, out)
		}
		assertSameConfig(t, cfg.effective(), again) // sinks' defaults print and load back as explicit
		out2, err := again.Redacted()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("Redacted is not a fixpoint:\n%s\n---\n%s", out, out2)
		}
	})
}
