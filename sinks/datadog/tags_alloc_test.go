package datadog

import (
	"strings"
	"testing"
)

// TestAppendTagNoAlloc: a tag longer than the compiler's 32-byte stack
// buffer for string conversions is appended without allocating.
func TestAppendTagNoAlloc(t *testing.T) {
	e := &encoder{}
	long := strings.Repeat("v", 120)
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		buf = e.appendTag(buf[:0], true, "pod", long)
	})
	if allocs != 0 {
		t.Fatalf("appendTag of a %d-byte tag: %.1f allocs, want 0", len(long)+4, allocs)
	}
	if got := string(buf); got != `"pod:`+long+`"` {
		t.Fatalf("appendTag = %s", got)
	}
}
