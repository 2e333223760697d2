package main

import (
	"strings"
	"testing"
)

const smapsSample = `00400000-00c30000 r-xp 00000000 fe:00 77                                 /opt/promfwd/bin/promfwd
Size:               8384 kB
Rss:                7200 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
Swap:                  0 kB
00c30000-01508000 r--p 00830000 fe:00 77                                 /opt/promfwd/bin/promfwd
Rss:                7328 kB
Private_Dirty:       512 kB
Anonymous:             0 kB
01508000-0159a000 rw-p 01108000 fe:00 77                                 /opt/promfwd/bin/promfwd
Rss:                 452 kB
Anonymous:           120 kB
0159a000-035df000 rw-p 00000000 00:00 0 
Rss:                 184 kB
Anonymous:           184 kB
7f0000000000-7f0000010000 r--p 00000000 fe:00 91                         /data/a file with spaces
Rss:                  64 kB
Anonymous:             0 kB
`

func TestParseSmaps(t *testing.T) {
	ms, err := parseSmaps(strings.NewReader(smapsSample))
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{
		{start: 0x400000, end: 0xc30000, perms: "r-xp", inode: 77, path: "/opt/promfwd/bin/promfwd", rss: 7200 << 10},
		// Private_Dirty alone is a dirty page-cache page: the file's.
		{start: 0xc30000, end: 0x1508000, perms: "r--p", inode: 77, path: "/opt/promfwd/bin/promfwd", rss: 7328 << 10},
		{start: 0x1508000, end: 0x159a000, perms: "rw-p", inode: 77, path: "/opt/promfwd/bin/promfwd", rss: 452 << 10, private: true},
		{start: 0x159a000, end: 0x35df000, perms: "rw-p", rss: 184 << 10, private: true},
		{start: 0x7f0000000000, end: 0x7f0000010000, perms: "r--p", inode: 91, path: "/data/a file with spaces", rss: 64 << 10},
	}
	if len(ms) != len(want) {
		t.Fatalf("got %d mappings, want %d: %+v", len(ms), len(want), ms)
	}
	for i := range want {
		if ms[i] != want[i] {
			t.Errorf("mapping %d = %+v, want %+v", i, ms[i], want[i])
		}
	}
	for _, bad := range []string{
		"00400000 r-xp 00000000 fe:00 77 /x\n",              // no end address
		"00400000-zz r-xp 00000000 fe:00 77 /x\n",           // bad hex
		"00400000-00c30000 r-xp\n",                          // short header
		"00400000-00c30000 r-xp 0 fe:00 77 /x\nRss: x kB\n", // bad number
	} {
		if _, err := parseSmaps(strings.NewReader(bad)); err == nil {
			t.Errorf("parseSmaps(%q) accepted it", bad)
		}
	}
}

func TestReleasable(t *testing.T) {
	const exe = 77
	text := mapping{start: 0x1000, end: 0x2000, perms: "r-xp", inode: exe, rss: 4096}
	for _, tc := range []struct {
		name string
		m    mapping
		want bool
	}{
		{"text", text, true},
		{"read-only data", with(text, func(m *mapping) { m.perms = "r--p" }), true},
		{"writable data", with(text, func(m *mapping) { m.perms = "rw-p" }), false},
		{"relocated read-only (own pages)", with(text, func(m *mapping) { m.perms, m.private = "r--p", true }), false},
		{"shared mapping", with(text, func(m *mapping) { m.perms = "r--s" }), false},
		{"another file", with(text, func(m *mapping) { m.inode = 78 }), false},
		{"anonymous", with(text, func(m *mapping) { m.inode = 0 }), false},
		{"nothing resident", with(text, func(m *mapping) { m.rss = 0 }), false},
		{"no access", with(text, func(m *mapping) { m.perms = "---p" }), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := len(releasable([]mapping{tc.m}, exe)) == 1
			if got != tc.want {
				t.Fatalf("releasable(%+v) = %v, want %v", tc.m, got, tc.want)
			}
		})
	}
	if got := releasable([]mapping{with(text, func(m *mapping) { m.inode = 0 })}, 0); len(got) != 0 {
		t.Fatalf("with no inode for the executable, releasable picked %+v", got)
	}
}

func with(m mapping, f func(*mapping)) mapping {
	f(&m)
	return m
}
