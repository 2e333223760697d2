package main

import (
	"context"
	"math"
	"runtime/debug"
	"strconv"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"go.uber.org/zap"
)

// defaultGOGC is the garbage collector's target when GOGC is not set. Go's
// 100 lets the heap grow to twice what is live before collecting; at 50
// it grows by half. promfwd's live heap is mostly per-series state that
// stays put (parsed label sets, the line cache, dedupe), and what it
// allocates per scrape is small next to it, so collecting earlier costs
// little CPU and takes about a quarter off the RSS (README, "Memory").
// vmagent does the same (GOGC=50 unless set). Past 32 MiB live the
// headroom narrows (adaptiveHeadroom, gctuner.go).
const defaultGOGC = 50

// cgroupLimitRatio is the part of a container's memory limit that becomes
// the Go soft memory limit, leaving room for what the runtime does not
// count (stacks of threads in C, the binary's mapped pages, page cache).
const cgroupLimitRatio = 0.9

// gcSettings is what run does to the garbage collector at start. A zero
// field leaves that setting alone.
type gcSettings struct {
	headroom   headroomRule // GOGC, lowered as the live heap grows (gctuner.go)
	limit      int64        // SetMemoryLimit, bytes
	limitFrom  string
	cgroupSeen uint64 // the container's limit, when there is one
}

// decideGC picks the settings: the environment (GOGC, GOMEMLIMIT) always
// wins, as the Go runtime already applied it; the config's memory_limit
// comes next; otherwise the limit follows the container's (cgroup) limit.
// cgroup returns 0 when there is none.
func decideGC(getenv func(string) string, configLimit int64, cgroup func() uint64) gcSettings {
	var s gcSettings
	if getenv("GOGC") == "" {
		s.headroom = adaptiveHeadroom()
	}
	if getenv("GOMEMLIMIT") != "" {
		return s
	}
	if configLimit > 0 {
		s.limit, s.limitFrom = configLimit, "config"
		return s
	}
	if c := cgroup(); c > 0 && c < math.MaxInt64 {
		s.cgroupSeen = c
		s.limit, s.limitFrom = int64(float64(c)*cgroupLimitRatio), "cgroup"
	}
	return s
}

// apply sets what s says and logs it once. An adaptive headroom follows
// the live heap until ctx ends.
func (s gcSettings) apply(ctx context.Context, log *zap.Logger) {
	fields := []zap.Field{}
	if s.headroom.maxHeadroom > 0 {
		startGCTuner(ctx, s.headroom)
		fields = append(fields, zap.Int("gogc", s.headroom.maxPercent), zap.Int("gogc_min", s.headroom.minPercent),
			zap.Uint64("gc_headroom_min_bytes", s.headroom.minHeadroom), zap.Uint64("gc_headroom_max_bytes", s.headroom.maxHeadroom),
			zap.Duration("gc_period", s.headroom.period))
	}
	if s.limit > 0 {
		debug.SetMemoryLimit(s.limit)
		fields = append(fields, zap.Int64("memory_limit_bytes", s.limit), zap.String("memory_limit_from", s.limitFrom))
	}
	if s.cgroupSeen > 0 {
		fields = append(fields, zap.String("cgroup_memory_limit", strconv.FormatUint(s.cgroupSeen, 10)))
	}
	if len(fields) > 0 {
		log.Info("garbage collector settings", fields...)
	}
}

// cgroupMemoryLimit is the memory limit of promfwd's cgroup (v1 or v2), or
// 0 when it has none or it cannot be read.
func cgroupMemoryLimit() uint64 {
	n, err := memlimit.FromCgroup()
	if err != nil {
		return 0
	}
	return n
}
