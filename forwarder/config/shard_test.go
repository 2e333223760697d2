package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestTargetHashIsStable(t *testing.T) {
	// Pinned: a change moves targets between replicas on upgrade.
	cases := []struct {
		source, url string
		want        uint64
	}{
		{"node", "http://10.0.0.1:9100/metrics", 0x9cf8aa9f3e8a0112},
		{"k8s", "https://app-0.app:8443/metrics", 0x3b37819b85edb94d},
		{"", "", 0xe934a84adb052768},
	}
	for _, tc := range cases {
		if got := TargetHash(tc.source, tc.url); got != tc.want {
			t.Errorf("TargetHash(%q, %q) = %#x, want %#x", tc.source, tc.url, got, tc.want)
		}
	}
	if TargetHash("ab", "c") == TargetHash("a", "bc") {
		t.Error("source and URL are not separated in the hash input")
	}
}

func TestShardBalance(t *testing.T) {
	const n, targets = 3, 3000
	per := make([]int, n)
	for i := range targets {
		url := fmt.Sprintf("http://10.%d.%d.%d:9100/metrics", i/65536, i/256%256, i%256)
		owners := 0
		for idx := range n {
			s := ShardConfig{Count: n, ordinal: idx}
			if s.Owns("nodes", url) {
				owners++
				per[idx]++
			}
		}
		if owners != 1 {
			t.Fatalf("%s has %d owners", url, owners)
		}
	}
	for idx, c := range per {
		if c < targets/n*8/10 || c > targets/n*12/10 {
			t.Errorf("shard %d owns %d of %d targets: unbalanced (%v)", idx, c, targets, per)
		}
	}
	if !(ShardConfig{}).Owns("x", "y") || !(ShardConfig{Count: 1}).Owns("x", "y") {
		t.Error("count 0 or 1 must own every target")
	}
}

func TestOrdinalFromHostname(t *testing.T) {
	cases := []struct {
		host string
		want int
		ok   bool
	}{
		{"promfwd-0", 0, true},
		{"promfwd-12", 12, true},
		{"my-promfwd-2.promfwd.monitoring.svc.cluster.local", 2, true},
		{"promfwd", 0, false},
		{"promfwd-", 0, false},
		{"promfwd-abc", 0, false},
		{"promfwd-+1", 0, false},
	}
	for _, tc := range cases {
		got, err := OrdinalFromHostname(tc.host)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("OrdinalFromHostname(%q) = %d, %v; want %d, ok=%v", tc.host, got, err, tc.want, tc.ok)
		}
	}
}

func TestShardConfig(t *testing.T) {
	base := "sources: [{name: a, url: \"http://127.0.0.1:1/m\"}]\nsinks: [{name: o, type: stdout}]\n"
	cases := []struct {
		name, shard, host string
		env               map[string]string
		wantOrdinal       int
		wantErr           string
	}{
		{name: "none", wantOrdinal: 0},
		{name: "index", shard: "{count: 3, index: 2}", wantOrdinal: 2},
		{name: "index from env", shard: "\n  count: 3\n  index: ${POD_ORDINAL}", env: map[string]string{"POD_ORDINAL": "1"}, wantOrdinal: 1},
		{name: "from hostname", shard: "{count: 4, index_from_hostname: true}", host: "promfwd-3", wantOrdinal: 3},
		{name: "out of range", shard: "{count: 3, index: 3}", wantErr: "t.yaml:5:26: shard.index: shard index 3 is out of range for count 3 (want 0..2)"},
		{name: "hostname out of range", shard: "{count: 2, index_from_hostname: true}", host: "promfwd-2", wantErr: "shard.index_from_hostname: shard index 2 is out of range for count 2"},
		{name: "hostname without ordinal", shard: "{count: 2, index_from_hostname: true}", host: "laptop", wantErr: `shard.index_from_hostname: host name "laptop" does not end in -<ordinal>`},
		{name: "both", shard: "{count: 2, index: 1, index_from_hostname: true}", host: "p-1", wantErr: "set index or index_from_hostname, not both"},
		{name: "negative count", shard: "{count: -1}", wantErr: "shard.count: must not be negative"},
		{name: "unset env", shard: "\n  count: 3\n  index: ${POD_ORDINAL}", wantErr: "shard.index"},
		{name: "unknown key", shard: "{count: 3, ordinal: 1}", wantErr: "ordinal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := base
			if tc.shard != "" {
				text += "\n\nshard: " + tc.shard + "\n"
			}
			host := func() (string, error) {
				if tc.host == "" {
					return "", errors.New("no host name in this test")
				}
				return tc.host, nil
			}
			cfg, err := loadWith("t.yaml", []byte(text), testEnv(tc.env), host)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Shard.Ordinal(); got != tc.wantOrdinal {
				t.Errorf("ordinal = %d, want %d", got, tc.wantOrdinal)
			}
			// The rendered config loads back to the same shard.
			out, err := cfg.Redacted()
			if err != nil {
				t.Fatal(err)
			}
			again, err := loadWith("t.yaml", out, testEnv(nil), host)
			if err != nil {
				t.Fatalf("rendered config does not load: %v\n%s", err, out)
			}
			if again.Shard != cfg.Shard {
				t.Errorf("round trip: %+v, want %+v", again.Shard, cfg.Shard)
			}
		})
	}
}
