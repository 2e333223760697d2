package main

import (
	"fmt"
	"os"
	"syscall"
)

// releaseStartupPages drops the resident pages of the binary's clean
// read-only mappings (startpages.go) and returns how many bytes were
// resident in them.
func releaseStartupPages() (int64, error) {
	fi, err := os.Stat("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("release start-up pages: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("release start-up pages: no inode for /proc/self/exe")
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("release start-up pages: %w", err)
	}
	ms, err := parseSmaps(f)
	_ = f.Close()
	if err != nil {
		return 0, fmt.Errorf("release start-up pages: %w", err)
	}
	var released int64
	for _, m := range releasable(ms, st.Ino) {
		// MADV_DONTNEED on a private file mapping without pages of its
		// own only unmaps: the next access maps the page cache's copy.
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), syscall.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("release start-up pages: madvise %x-%x: %w", m.start, m.end, errno)
		}
		released += m.rss
	}
	return released, nil
}
