// Package allocprof reads the runtime's memory profile for tests that pin
// where a code path allocates.
package allocprof

import (
	"runtime"
	"strings"
)

// AllocatedIn sums the bytes ever allocated (as of the last collection) by
// stacks that pass through a function whose name ends in fn. Set
// runtime.MemProfileRate to 1 first to see every allocation.
func AllocatedIn(fn string) int64 {
	n, _ := runtime.MemProfile(nil, true)
	var recs []runtime.MemProfileRecord
	for {
		recs = make([]runtime.MemProfileRecord, n+50)
		var ok bool
		if n, ok = runtime.MemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	var sum int64
	for _, r := range recs {
		frames := runtime.CallersFrames(r.Stack())
		for {
			f, more := frames.Next()
			if strings.HasSuffix(f.Function, fn) {
				sum += r.AllocBytes
				break
			}
			if !more {
				break
			}
		}
	}
	return sum
}
