package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clkTck is USER_HZ, which is 100 on every Linux architecture Go supports.
const clkTck = 100

// procCPU returns the user+system CPU time used so far by process pid
// (all its threads) from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("proc: reading stat: %w", err)
	}
	// The command name (field 2) may hold spaces: skip past its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc: malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("proc: short stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("proc: bad utime/stime")
	}
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// procMem returns VmRSS and VmHWM (peak RSS) of pid in bytes.
func procMem(pid int) (rss, hwm int64, err error) {
	m, err := procStatus(pid, "VmRSS", "VmHWM")
	return m["VmRSS"], m["VmHWM"], err
}

// procStatus returns the named kB fields of /proc/<pid>/status in bytes.
func procStatus(pid int, keys ...string) (map[string]int64, error) {
	out := make(map[string]int64, len(keys))
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, fmt.Errorf("proc: reading status: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !slices.Contains(keys, k) {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("proc: %s: %w", k, err)
		}
		out[k] = kb << 10
	}
	return out, sc.Err()
}

// selfMetrics is promfwd's /metrics, reduced to sums by name with an
// optional label filter.
type selfMetrics []string

func fetchSelfMetrics(ctx context.Context, url string) (selfMetrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("self-metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("self-metrics: %w", err)
	}
	var lines selfMetrics
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && l[0] != '#' {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// sum adds the values of every series called name whose label text
// contains all of the given substrings (e.g. `outcome="success"`); a
// substring starting with '!' must not occur.
func (m selfMetrics) sum(name string, match ...string) float64 {
	var total float64
next:
	for _, l := range m {
		sp := strings.LastIndexByte(l, ' ')
		if sp < 0 {
			continue
		}
		series := l[:sp]
		n, lbls, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		for _, s := range match {
			if neg, ok := strings.CutPrefix(s, "!"); ok {
				if strings.Contains(lbls, neg) {
					continue next
				}
			} else if !strings.Contains(lbls, s) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(l[sp+1:], 64)
		if err == nil {
			total += v
		}
	}
	return total
}

// loadAvg is /proc/loadavg's 1, 5 and 15 minute figures: the benchmark
// shares the machine, and a busy machine skews every figure.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
