package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// ShardConfig splits the targets among N replicas (a Kubernetes StatefulSet):
// replica Index scrapes only the targets whose TargetHash mod Count equals
// Index, so every target is scraped by exactly one replica. Count 0 or 1
// means no sharding.
type ShardConfig struct {
	Count int `yaml:"count"`
	// Index is this replica's shard, 0 <= Index < Count; usually
	// ${POD_ORDINAL} from the pod's apps.kubernetes.io/pod-index label.
	Index int `yaml:"index"`
	// IndexFromHostname takes the index from the trailing "-<ordinal>" of
	// the host name, as a StatefulSet names its pods (promfwd-2 -> 2).
	IndexFromHostname bool `yaml:"index_from_hostname,omitempty"`

	// ordinal is the effective index once IndexFromHostname is resolved
	// (kept apart from Index so the rendered config loads back unchanged).
	ordinal int
}

// TargetHash is the stable hash a target is sharded by: xxhash64 of the
// source name, a NUL byte, and the target URL. For a file_sd source the name
// is the source's (not the target's) and the URL is the expanded target URL.
// It never changes between releases: changing it would move every target
// to another replica.
func TargetHash(source, url string) uint64 {
	d := xxhash.New()
	_, _ = d.WriteString(source)
	_, _ = d.Write([]byte{0})
	_, _ = d.WriteString(url)
	return d.Sum64()
}

// Enabled reports whether targets are split among more than one replica.
func (s ShardConfig) Enabled() bool { return s.Count > 1 }

// Ordinal is this replica's effective shard index.
func (s ShardConfig) Ordinal() int { return s.ordinal }

// Owns reports whether this replica scrapes the target.
func (s ShardConfig) Owns(source, url string) bool {
	if !s.Enabled() {
		return true
	}
	return TargetHash(source, url)%uint64(s.Count) == uint64(s.ordinal)
}

// OrdinalFromHostname parses the StatefulSet ordinal at the end of a pod's
// host name: "promfwd-2" -> 2. A host name without one is an error.
func OrdinalFromHostname(host string) (int, error) {
	host, _, _ = strings.Cut(host, ".") // a FQDN's first label is the pod name
	i := strings.LastIndexByte(host, '-')
	if i < 0 || i == len(host)-1 {
		return 0, fmt.Errorf("host name %q does not end in -<ordinal>", host)
	}
	n, err := strconv.Atoi(host[i+1:])
	if err != nil || n < 0 || host[i+1] == '+' {
		return 0, fmt.Errorf("host name %q does not end in -<ordinal>", host)
	}
	return n, nil
}

// resolve validates the settings and fills ordinal; hostname is consulted
// only for index_from_hostname. Messages name the field.
func (s *ShardConfig) resolve(hostname func() (string, error)) (field string, err error) {
	switch {
	case s.Count < 0:
		return "count", fmt.Errorf("must not be negative")
	case s.Index < 0:
		return "index", fmt.Errorf("must not be negative")
	case s.IndexFromHostname && s.Index != 0:
		return "index_from_hostname", fmt.Errorf("set index or index_from_hostname, not both")
	}
	s.ordinal = s.Index
	if s.IndexFromHostname {
		h, err := hostname()
		if err != nil {
			return "index_from_hostname", fmt.Errorf("read host name: %w", err)
		}
		if s.ordinal, err = OrdinalFromHostname(h); err != nil {
			return "index_from_hostname", err
		}
	}
	if s.ordinal >= max(s.Count, 1) {
		field := "index"
		if s.IndexFromHostname {
			field = "index_from_hostname"
		}
		return field, fmt.Errorf("shard index %d is out of range for count %d (want 0..%d)", s.ordinal, max(s.Count, 1), max(s.Count, 1)-1)
	}
	return "", nil
}
