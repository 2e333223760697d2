package relabel

import (
	"slices"
	"unicode/utf8"

	"github.com/promfwd/promfwd/scrape"
)

// minKeep is the cache size below which it is never pruned.
const minKeep = 4096

// Stats counts what one Relabel removed.
type Stats struct {
	// Dropped samples were removed by a keep, drop, keepequal or dropequal
	// rule, as the user asked.
	Dropped int
	// Invalid samples came out of the rules without a metric name, with an
	// invalid label name, or with the label set of an earlier sample of the
	// same batch (merged series: the first one wins, as in a Prometheus
	// scrape). They are never sent.
	Invalid int
}

// Stage applies one list of rules to batches of samples: one source's
// scrapes, or what one source sends one sink. Results are cached per input
// series: a sample whose name and labels are those of a cached entry (the
// parser's line cache hands out the same label slice for a byte-identical
// series line, so the check is a pointer comparison) reuses the result.
// A Stage is not safe for concurrent use.
type Stage struct {
	rw *Rewriter // compute's engine; holds the rules

	idx  map[uint64]int32 // input series hash -> index in ents
	ents []entry
	gen  uint32
	used int

	// order holds the entry of each sample of the last batch by position;
	// a scrape usually repeats its order, so most lookups are a comparison
	// instead of a probe of a large map. next is the spare for the batch
	// being built.
	order, next []int32
	in          scrape.Labels // a sample's labels, as the rules take them
}

type entry struct {
	inName   string
	inLabels scrape.LabelSet
	inHash   uint64

	name   string
	labels scrape.LabelSet
	hash   uint64
	// The small fields last and together: 104 bytes an entry, not 112.
	gen     uint32
	keep    bool // false: dropped by a rule
	invalid bool
	same    bool // output identical to input
	dup     bool // in the last batch, an earlier sample had the same output series
}

// NewStage returns a stage for rules, which must have passed Validate. With
// no rules Relabel returns its input unchanged.
func NewStage(rules []*Config) *Stage {
	return &Stage{rw: NewRewriter(rules), idx: map[uint64]int32{}}
}

// Empty reports whether the stage has no rules.
func (s *Stage) Empty() bool { return s == nil || s.rw == nil || len(s.rw.rules) == 0 }

// Relabel returns the relabeled samples. The input is never modified (it
// may be shared with other sinks); when no sample changes, the input itself
// is returned. Order is kept. Rules apply to each sample on its own, as in
// Prometheus: a rule may drop one bucket of a histogram.
func (s *Stage) Relabel(in []scrape.Sample) ([]scrape.Sample, Stats) {
	var st Stats
	if s.Empty() || len(in) == 0 {
		return in, st
	}
	s.gen++
	s.used = 0
	if len(s.ents) == 0 {
		// Size the cache for the first batch: grown by append, up to
		// half of its backing array would be slack for as long as the
		// series live.
		s.ents = make([]entry, 0, len(in))
		s.idx = make(map[uint64]int32, len(in))
	}
	// Pass 1: the entry of every sample. A batch with the previous batch's
	// series in the previous order (the usual scrape) is "steady": its
	// merged-series verdicts are those of the previous batch.
	steady := len(in) == len(s.order)
	changed := false // some kept sample has a new identity
	s.next = s.next[:0]
	for i := range in {
		e, hit := s.lookup(&in[i], i)
		s.next = append(s.next, e)
		steady = steady && hit && e == s.order[i]
		ent := &s.ents[e]
		changed = changed || (ent.keep && !ent.invalid && !ent.same)
	}
	s.order, s.next = s.next, s.order
	switch {
	case steady:
	case changed:
		s.findMerged()
	default:
		for _, e := range s.order {
			s.ents[e].dup = false
		}
	}
	// Pass 2: the output.
	var out []scrape.Sample // nil while the output equals in[:i]
	for i, e := range s.order {
		ent := &s.ents[e]
		if ent.keep && !ent.invalid && !ent.dup && ent.same {
			if out != nil {
				out = append(out, in[i])
			}
			continue
		}
		if out == nil {
			out = make([]scrape.Sample, i, len(in))
			copy(out, in[:i])
		}
		switch {
		case !ent.keep:
			st.Dropped++
		case ent.invalid, ent.dup:
			st.Invalid++
		default:
			smp := in[i]
			smp.Name, smp.Labels, smp.Hash = ent.name, ent.labels, ent.hash
			out = append(out, smp)
		}
	}
	s.prune()
	if out == nil {
		return in, st
	}
	return out, st
}

// findMerged marks as dup every kept sample of the batch (s.order) whose
// output series an earlier sample of the batch already has: renamed or
// relabeled series that now equal another. The first one wins, as in a
// Prometheus scrape.
func (s *Stage) findMerged() {
	// The set lives for one call: a steady scraper never gets here, and a
	// table sized for every series would stay live for nothing.
	seen := make(map[uint64]int32, len(s.order)) // output series -> its first entry
	for _, e := range s.order {
		ent := &s.ents[e]
		ent.dup = false
		if !ent.keep || ent.invalid {
			continue
		}
		// A series the exposition repeats (later timestamps) is one
		// entry: its own earlier sample is no merge.
		if first, ok := seen[ent.hash]; ok {
			ent.dup = first != e
			continue
		}
		seen[ent.hash] = e
	}
}

// lookup returns the cache entry for smp's series, the pos-th sample of the
// batch, computing it on a miss; hit reports a cached entry last used by the
// previous batch.
func (s *Stage) lookup(smp *scrape.Sample, pos int) (idx int32, hit bool) {
	i := int32(-1)
	if pos < len(s.order) && s.order[pos] < int32(len(s.ents)) && s.ents[s.order[pos]].inHash == smp.Hash {
		i = s.order[pos] // the usual case: the exposition kept its order
	} else if j, ok := s.idx[smp.Hash]; ok {
		i = j
	}
	if i >= 0 && sameInput(&s.ents[i], smp) {
		hit = s.ents[i].gen == s.gen-1
		s.stamp(i)
		return i, hit
	}
	ent := s.compute(smp)
	i, ok := s.idx[smp.Hash]
	if !ok {
		i = int32(len(s.ents))
		s.ents = append(s.ents, ent)
		s.idx[smp.Hash] = i
	} else { // a hash collision or a changed series under the same hash
		s.ents[i] = ent
	}
	s.used++
	return i, false
}

func (s *Stage) stamp(i int32) {
	if e := &s.ents[i]; e.gen != s.gen {
		e.gen = s.gen
		s.used++
	}
}

// sameInput reports whether e was computed for smp's name and labels.
func sameInput(e *entry, smp *scrape.Sample) bool {
	// A cached line's set is the same memory: Equal checks that first.
	return e.inName == smp.Name && e.inLabels.Equal(smp.Labels)
}

// compute runs the rules on one series.
func (s *Stage) compute(smp *scrape.Sample) entry {
	e := entry{inName: smp.Name, inLabels: smp.Labels, inHash: smp.Hash, gen: s.gen}
	s.in = smp.Labels.AppendTo(s.in[:0])
	name, ls, v := s.rw.RewriteSeries(smp.Name, s.in)
	switch {
	case v == scrape.RewriteDrop:
		return e
	case v == scrape.RewriteInvalid:
		e.keep, e.invalid = true, true
		return e
	}
	e.keep = true
	if name == smp.Name && smp.Labels.EqualLabels(ls) {
		e.same, e.name, e.labels, e.hash = true, smp.Name, smp.Labels, smp.Hash
		return e
	}
	ls = slices.Clone(ls) // the rewriter's buffer: the cache keeps an exact-size copy
	e.name, e.labels, e.hash = name, scrape.SetOf(ls), scrape.SeriesHash(name, ls)
	return e
}

// validName is Prometheus' UTF-8 label name rule: not empty, valid UTF-8.
func validName(n string) bool { return n != "" && utf8.ValidString(n) }

// sortLabels sorts by name (insertion sort: label sets are small, and the
// builder's Range is usually sorted already).
func sortLabels(ls scrape.Labels) {
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].Name < ls[j-1].Name; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

// prune drops entries the last batch did not use once they outnumber the
// used ones (series that went away).
func (s *Stage) prune() {
	if len(s.ents) <= 2*s.used+minKeep {
		return
	}
	old := s.ents
	s.idx = make(map[uint64]int32, s.used)
	s.ents = make([]entry, 0, s.used)
	moved := make(map[int32]int32, s.used)
	for i, e := range old {
		if e.gen == s.gen {
			moved[int32(i)] = int32(len(s.ents))
			s.idx[e.inHash] = int32(len(s.ents))
			s.ents = append(s.ents, e)
		}
	}
	for i, e := range s.order {
		s.order[i] = moved[e] // every entry of the batch was used
	}
}
