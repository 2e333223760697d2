//go:build !linux

package sdnotify

import "time"

// monotonic is unavailable off Linux (there is no systemd there either);
// RELOADING=1 is then sent without MONOTONIC_USEC.
func monotonic() (time.Duration, bool) { return 0, false }
