package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/sinks"
)

// The memory model documented in README "Memory" and in the unit, from
// promfwd-bench: 200k series ~47 MiB steady RSS with remote-write, ~55 MiB
// with HEC (dedupe on), 1M series ~99 MiB (peak ~119 MiB; HEC ~129 MiB),
// ~17 MiB idle (~21 MiB counting the binary's page cache, as a cgroup does).
const (
	memBase      = 21 << 20
	memPerSeries = 205 // 0.2 KiB
	memGCFactor  = 2
)

// unitBytes parses a systemd size (K, M, G, T suffixes are powers of 1024).
func unitBytes(t *testing.T, v string) int64 {
	t.Helper()
	mult := int64(1)
	for i, s := range []string{"K", "M", "G", "T"} {
		if n, ok := strings.CutSuffix(v, s); ok {
			v, mult = n, int64(1)<<(10*(i+1))
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		t.Fatalf("size %q: want a positive number with an optional K/M/G/T suffix", v)
	}
	return n * mult
}

// TestSystemdUnitMemoryMax: the unit bounds memory with MemoryMax=, sized
// by the documented model for its shipped config and at least 400k series
// (what the unit's comment promises).
func TestSystemdUnitMemoryMax(t *testing.T) {
	unit := unitFile(t, filepath.Join(deployDir, "systemd", "promfwd.service"))
	limit := unitBytes(t, one(t, unit, "Service", "MemoryMax"))
	t.Setenv("CREDENTIALS_DIRECTORY", t.TempDir())
	cfg, err := config.LoadFile(filepath.Join(deployDir, "systemd", "promfwd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	queues := int64(0)
	for _, sc := range cfg.Sinks {
		q := sc.Runner.MaxQueueBytes
		if q == 0 {
			q = sinks.DefaultRunnerConfig().MaxQueueBytes
		}
		if cfg.DataDir != "" {
			q = min(q/4, 16<<20) // the disk queue's memory cache
		}
		queues += q
	}
	const series = 400000
	need := memGCFactor * (memBase + series*memPerSeries + queues)
	if limit < need {
		t.Errorf("MemoryMax=%d bytes, want at least %d (2 x (21MiB + %d series x 0.2KiB + queues %d))", limit, need, series, queues)
	}
}
