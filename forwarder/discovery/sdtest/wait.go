package sdtest

import (
	"testing"
	"time"
)

// WaitFor polls cond every 10ms for up to 30s; only the outcome is
// checked, not how long it took.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
