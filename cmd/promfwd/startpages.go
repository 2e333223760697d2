package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// Start-up touches far more of the binary than a running service does:
// every linked package's init code and data, the YAML decoders, the config
// validation, the construction of sources and sinks. The kernel maps the
// binary's pages in windows around each first touch (fault-around, 64 KiB
// by default), so after start
// almost all of its text and read-only data is resident (~14.6 MiB of the
// ~20 MiB an idle promfwd held), although one scrape-and-send cycle uses
// about 3 MiB of it (measured with /proc/PID/clear_refs and the
// Referenced: lines of smaps). releaseStartupPages unmaps the binary's
// clean read-only pages once start-up is over; they stay in the page
// cache, and whatever the service uses again comes back on a minor fault,
// so what stays resident is what the service keeps using and the windows
// around it (~11 MiB idle; README, "Memory").

// dropStartupPages releases the start-up pages (after: "start" or
// "reload") and logs what it did. A failure costs only memory, so it is
// logged, not returned.
func dropStartupPages(log *zap.Logger, after string) {
	n, err := releaseStartupPages()
	if err != nil {
		log.Info("could not release the binary's start-up pages", zap.String("after", after), zap.Error(err))
		return
	}
	log.Debug("released the binary's start-up pages", zap.String("after", after), zap.Int64("bytes", n))
}

// mapping is one entry of /proc/self/smaps.
type mapping struct {
	start, end uint64
	perms      string // e.g. "r-xp"
	inode      uint64
	path       string
	rss        int64 // bytes
	private    bool  // holds pages of its own: copies written over the file's (or swapped out)
}

// parseSmaps reads the format of /proc/PID/smaps: a header line per
// mapping ("start-end perms offset dev inode [path]") followed by
// "Key:   value kB" lines.
func parseSmaps(r io.Reader) ([]mapping, error) {
	var ms []mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if !strings.HasSuffix(f[0], ":") { // a mapping's header
			if len(f) < 5 {
				return nil, fmt.Errorf("smaps: malformed header %q", line)
			}
			lo, hi, ok := strings.Cut(f[0], "-")
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			inode, err3 := strconv.ParseUint(f[4], 10, 64)
			if !ok || err1 != nil || err2 != nil || err3 != nil || end < start {
				return nil, fmt.Errorf("smaps: malformed header %q", line)
			}
			m := mapping{start: start, end: end, perms: f[1], inode: inode}
			if len(f) > 5 {
				m.path = strings.Join(f[5:], " ")
			}
			ms = append(ms, m)
			continue
		}
		if len(ms) == 0 || len(f) < 2 {
			continue
		}
		m := &ms[len(ms)-1]
		switch f[0] {
		case "Rss:", "Anonymous:", "Swap:":
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("smaps: %s: %w", f[0], err)
			}
			if f[0] == "Rss:" {
				m.rss = kb << 10
			} else if kb > 0 {
				m.private = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("smaps: %w", err)
	}
	return ms, nil
}

// releasable picks the mappings of the executable (inode exe) whose pages
// can be dropped and read back from the file unchanged: private, not
// writable, and holding no page of their own. A writable mapping (the
// binary's data) or one written before being made read-only (relocations
// of a position-independent build) would lose what was written. Dirty
// page-cache pages (a binary written moments ago) count as Private_Dirty
// in smaps but are the file's: they are not a reason to skip.
func releasable(ms []mapping, exe uint64) []mapping {
	var out []mapping
	for _, m := range ms {
		if m.inode != exe || exe == 0 || len(m.perms) != 4 || m.perms[0] != 'r' || m.perms[1] != '-' ||
			m.perms[3] != 'p' || m.private || m.rss == 0 {
			continue
		}
		out = append(out, m)
	}
	return out
}
