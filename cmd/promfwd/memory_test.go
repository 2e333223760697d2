package main

import "testing"

func TestDecideGC(t *testing.T) {
	const gib = 1 << 30
	ratio := cgroupLimitRatio // not a constant: the product is not a whole number
	for _, tc := range []struct {
		name        string
		env         map[string]string
		configLimit int64
		cgroup      uint64
		want        gcSettings
	}{
		{"defaults, no container", nil, 0, 0, gcSettings{headroom: adaptiveHeadroom()}},
		{"GOGC from the environment wins", map[string]string{"GOGC": "100"}, 0, 0, gcSettings{}},
		{"GOGC=off from the environment wins", map[string]string{"GOGC": "off"}, 0, 0, gcSettings{}},
		{"GOGC and a container limit", map[string]string{"GOGC": "80"}, 0, 2 * gib, gcSettings{limit: int64(2 * gib * ratio), limitFrom: "cgroup", cgroupSeen: 2 * gib}},
		{"container limit", nil, 0, 2 * gib, gcSettings{headroom: adaptiveHeadroom(), limit: int64(2 * gib * ratio), limitFrom: "cgroup", cgroupSeen: 2 * gib}},
		{"config limit over the container's", nil, 512 << 20, 2 * gib, gcSettings{headroom: adaptiveHeadroom(), limit: 512 << 20, limitFrom: "config"}},
		{"GOMEMLIMIT wins over both", map[string]string{"GOMEMLIMIT": "1GiB"}, 512 << 20, 2 * gib, gcSettings{headroom: adaptiveHeadroom()}},
		{"unlimited cgroup", nil, 0, 1<<63 - 1, gcSettings{headroom: adaptiveHeadroom()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decideGC(func(k string) string { return tc.env[k] }, tc.configLimit, func() uint64 { return tc.cgroup })
			if got != tc.want {
				t.Fatalf("decideGC = %+v, want %+v", got, tc.want)
			}
		})
	}
}
