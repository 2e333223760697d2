package datadog

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks/jsonw"
)

// Datadog's tag rules, applied before sending so the intake never rewrites
// a tag (which could merge two series): a tag is lowercase, starts with a
// letter, holds only letters, digits, '_', '-', ':', '.' and '/', is at
// most 200 characters long and does not end with ':'.
const maxTagLen = 200

// ReservedTagKeys are the tag keys Datadog gives a meaning of its own
// (unified service tagging, the host). A label with one of these names is
// sent as "label_<name>" (like HEC's dimension renames); set these keys on
// purpose with the sink's `tags`.
func ReservedTagKeys() []string { return slices.Clone(reservedTagKeys[:]) }

var reservedTagKeys = [...]string{"host", "device", "source", "service", "env", "version"}

// RenamePrefix is prepended to a label name that is a reserved tag key or
// does not start with a letter: `service` -> `label_service`, `_x` -> `label__x`.
const RenamePrefix = "label_"

// isReservedKey compares case-insensitively: keys are lowercased later.
func isReservedKey(k string) bool {
	for _, r := range reservedTagKeys {
		if strings.EqualFold(k, r) {
			return true
		}
	}
	return false
}

func isTagChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-', r == ':', r == '.', r == '/':
		return true
	case r < utf8.RuneSelf:
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// tagKeyOf is the key a label name is sent under (before normalization).
func tagKeyOf(name string) string {
	if isReservedKey(name) || name == "" || !(name[0] >= 'a' && name[0] <= 'z' || name[0] >= 'A' && name[0] <= 'Z') {
		return RenamePrefix + name
	}
	return name
}

// appendNormalized appends s (part of a tag) lowercased, with characters
// outside the tag charset replaced by '_', stopping at maxTagLen runes in
// total; n is the runes already in the tag. It returns the new rune count.
func appendNormalized(b []byte, s string, n int) ([]byte, int) {
	for _, r := range s {
		if n >= maxTagLen {
			break
		}
		r = unicode.ToLower(r)
		if r == utf8.RuneError || !isTagChar(r) {
			r = '_'
		}
		b = utf8.AppendRune(b, r)
		n++
	}
	return b, n
}

// normalizeTag returns key:value (or key alone when bare) under Datadog's
// rules; see the package's README section for the mapping.
func normalizeTag(dst []byte, key, value string, bare bool) []byte {
	start := len(dst)
	dst, n := appendNormalized(dst, key, 0)
	if !bare && n < maxTagLen {
		dst = append(dst, ':')
		dst, _ = appendNormalized(dst, value, n+1)
	}
	if len(dst) > start && dst[len(dst)-1] == ':' {
		dst[len(dst)-1] = '_'
	}
	return dst
}

// appendTag appends the JSON string of the normalized tag name:value.
func (e *encoder) appendTag(b []byte, first bool, name, value string) []byte {
	if !first {
		b = append(b, ',')
	}
	e.tag = normalizeTag(e.tag[:0], tagKeyOf(name), value, false)
	e.tagSum += xxhash.Sum64(e.tag)
	b = append(b, '"')
	// A view of e.tag, not a copy: string(e.tag) allocates for tags over
	// 32 bytes, and AppendStringContent only reads it.
	b = jsonw.AppendStringContent(b, unsafe.String(unsafe.SliceData(e.tag), len(e.tag)))
	return append(b, '"')
}

// normalizeStatic normalizes a configured tag ("key:value" or "value").
// Its key is kept even when reserved: configured tags are deliberate.
func normalizeStatic(t string) string {
	for i := 0; i < len(t); i++ {
		if t[i] == ':' {
			return string(normalizeTag(nil, t[:i], t[i+1:], false))
		}
	}
	return string(normalizeTag(nil, t, "", true))
}

// collisions detects series that the tag rules made identical within one
// encoded batch: the first keeps its identity, later ones are dropped and
// counted (dropped{reason="tag_collision"}), and a line naming the series
// is logged at most once a minute.
type collisions struct {
	seen    map[uint64]uint64 // hash of the sent identity -> hash of the scraped series
	dropped int
	last    *scrape.Sample // the last series dropped, for the log
	lastAs  string         // the metric it was sent as
}

// check records that the scraped series is sent as name with tags whose
// order-independent digest is tagSum (a sum of per-tag hashes: labels
// sort differently once lowercased); false means another scraped series
// of the batch already is.
func (c *collisions) check(name string, tagSum, scraped uint64) bool {
	h := xxhash.Sum64String(name) + tagSum*0x9E3779B97F4A7C15
	if owner, ok := c.seen[h]; ok {
		return owner == scraped
	}
	c.seen[h] = scraped
	return true
}

func (c *collisions) reset() {
	if c.seen == nil {
		c.seen = make(map[uint64]uint64)
	}
	clear(c.seen)
	c.dropped, c.last, c.lastAs = 0, nil, ""
}

// logCollisions reports the batch's collisions at most once a minute.
func (s *Sink) logCollisions() {
	c := &s.enc.coll
	if c.dropped == 0 {
		return
	}
	now := s.clock.Now()
	if now.Sub(s.collisionLog) < collisionLogEvery && !s.collisionLog.IsZero() {
		return
	}
	s.collisionLog = now
	labels := make([]string, 0, c.last.Labels.Len())
	for _, l := range c.last.Labels.All() {
		labels = append(labels, l.Name+"="+l.Value)
	}
	slices.Sort(labels)
	s.log.Warn("datadog: series identical after tag normalization; dropping the later one",
		zap.String("url", s.endpoint), zap.String("metric", c.last.Name), zap.Strings("labels", labels),
		zap.String("sent_as", c.lastAs), zap.Int("samples", c.dropped))
}
