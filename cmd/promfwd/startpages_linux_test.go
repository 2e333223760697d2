//go:build linux

package main

import (
	"os"
	"syscall"
	"testing"
)

// dataProbe lives in the binary's writable data (initialised, no
// pointers: .noptrdata, a private mapping of the file).
var dataProbe = [4]int64{1, 2, 3, 4}

// TestReleaseStartupPages runs the real thing on the test binary: its text
// and read-only data hold fewer resident pages afterwards, its writable
// data keeps what was written to it (dropping those pages would bring back
// the file's values), and code runs on, the pages coming back on use.
func TestReleaseStartupPages(t *testing.T) {
	dataProbe[0] = 42
	before := exeRSS(t)
	released, err := releaseStartupPages()
	if err != nil {
		t.Fatal(err)
	}
	after := exeRSS(t)
	if released <= 0 || after["r-xp"] >= before["r-xp"] || after["r--p"] >= before["r--p"] {
		t.Fatalf("released %d bytes; resident KiB before %v, after %v", released, before, after)
	}
	if dataProbe[0] != 42 {
		t.Fatalf("writable data lost what was written to it: %v", dataProbe)
	}
	t.Logf("released %d KiB; resident KiB before %v, after %v", released>>10, before, after)
}

// exeRSS is the resident KiB of the test binary's mappings by permissions.
func exeRSS(t *testing.T) map[string]int64 {
	t.Helper()
	fi, err := os.Stat("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ms, err := parseSmaps(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, m := range ms {
		if m.inode == fi.Sys().(*syscall.Stat_t).Ino {
			out[m.perms] += m.rss >> 10
		}
	}
	return out
}
