package relabel

import (
	"github.com/promfwd/promfwd/forwarder/transform"
	"github.com/promfwd/promfwd/scrape"
)

var _ transform.Stage = (*Stage)(nil)

// Apply is Relabel under the transform.Stage contract; the counts of the
// call are kept for LastStats.
func (s *Stage) Apply(in []scrape.Sample, _ int64) []scrape.Sample {
	out, st := s.Relabel(in)
	s.last = st
	return out
}

// LastStats returns what the last Apply removed.
func (s *Stage) LastStats() Stats { return s.last }

// Snapshot is empty: the cache is derived from the rules and rebuilt by
// the first batch after a restart, so there is nothing to keep.
func (s *Stage) Snapshot() []byte { return nil }

// Restore accepts only the empty snapshot.
func (s *Stage) Restore(b []byte) error {
	if len(b) != 0 {
		return transform.ErrBadSnapshot
	}
	return nil
}
