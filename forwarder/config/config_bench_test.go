package config

import (
	"os"
	"testing"
)

// BenchmarkLoad measures a full load (parse, expand, strict decode,
// validate) of the largest example config; reloads on SIGHUP pay this.
func BenchmarkLoad(b *testing.B) {
	data, err := os.ReadFile("testdata/config/good/full.yaml")
	if err != nil {
		b.Fatal(err)
	}
	env := testEnv(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := load("full.yaml", data, env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedacted measures rendering the effective config.
func BenchmarkRedacted(b *testing.B) {
	data, err := os.ReadFile("testdata/config/good/full.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := load("full.yaml", data, testEnv(nil))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cfg.Redacted(); err != nil {
			b.Fatal(err)
		}
	}
}
