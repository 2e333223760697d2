package config

import "testing"

func TestParseByteSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want ByteSize
		ok   bool
	}{
		{"0", 0, true},
		{"1024", 1024, true},
		{"64MiB", 64 << 20, true},
		{"64 MiB", 64 << 20, true},
		{"1MB", 1_000_000, true},
		{"500kB", 500_000, true},
		{"500KB", 500_000, true},
		{"2GiB", 2 << 30, true},
		{"1TB", 1e12, true},
		{"3KiB", 3 << 10, true},
		{"10B", 10, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1.5MiB", 0, false},
		{"64XB", 0, false},
		{"64mib", 0, false},
		{"9999999TiB", 0, false},
		{"9223372036854775807", 1<<63 - 1, true},
	} {
		got, err := ParseByteSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	for _, c := range []struct {
		in   ByteSize
		want string
	}{
		{0, "0"}, {1, "1"}, {1000, "1kB"}, {1024, "1KiB"}, {64 << 20, "64MiB"},
		{1_000_000, "1MB"}, {1536, "1536"}, {3 << 40, "3TiB"}, {2e9, "2GB"}, {1023, "1023"},
	} {
		if got := c.in.String(); got != c.want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(c.in), got, c.want)
		}
		back, err := ParseByteSize(c.in.String())
		if err != nil || back != c.in {
			t.Errorf("round trip of %d: %d, %v", int64(c.in), back, err)
		}
	}
}
