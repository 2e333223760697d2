//go:build !unix

package remotewrite

import "time"

// processCPU is unavailable here; the cpu-ns/sample metric reads 0.
func processCPU() time.Duration { return 0 }
