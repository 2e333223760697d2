package relabel

import (
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	promrelabel "github.com/prometheus/prometheus/model/relabel"

	"github.com/promfwd/promfwd/scrape"
)

// minKeep is the cache size below which it is never pruned.
const minKeep = 4096

// Stats counts what one Apply removed.
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
	rules []*Config
	lb    *labels.Builder

	idx  map[uint64]int32 // input series hash -> index in ents
	ents []entry
	gen  uint32
	used int

	// seen maps an output series hash to the gen of the batch that produced
	// it, to find merged series without clearing a map per batch.
	seen map[uint64]uint32
}

type entry struct {
	inName   string
	inLabels scrape.Labels
	inHash   uint64

	keep    bool // false: dropped by a rule
	invalid bool
	same    bool // output identical to input
	name    string
	labels  scrape.Labels
	hash    uint64
	gen     uint32
}

// NewStage returns a stage for rules, which must have passed Validate. With
// no rules Apply returns its input unchanged.
func NewStage(rules []*Config) *Stage {
	return &Stage{rules: rules, lb: labels.NewBuilder(labels.EmptyLabels()), idx: map[uint64]int32{}, seen: map[uint64]uint32{}}
}

// Empty reports whether the stage has no rules.
func (s *Stage) Empty() bool { return s == nil || len(s.rules) == 0 }

// Apply returns the relabeled samples. The input is never modified (it may be
// shared with other sinks); when no sample changes, the input itself is
// returned. Order is kept.
func (s *Stage) Apply(in []scrape.Sample) ([]scrape.Sample, Stats) {
	var st Stats
	if s.Empty() || len(in) == 0 {
		return in, st
	}
	s.gen++
	s.used = 0
	var out []scrape.Sample // nil while the output equals in[:i]
	changed := false        // some kept sample has a new identity
	for i := range in {
		ent := &s.ents[s.lookup(&in[i])]
		if ent.keep && !ent.invalid && ent.same {
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
		case ent.invalid:
			st.Invalid++
		default:
			changed = true
			smp := in[i]
			smp.Name, smp.Labels, smp.Hash = ent.name, ent.labels, ent.hash
			out = append(out, smp)
		}
	}
	s.prune()
	if out == nil {
		return in, st
	}
	if changed {
		// Renamed or relabeled series may now equal another sample of the
		// batch. Unchanged ones cannot equal each other (the parser rejects
		// duplicate series), so without a change there is nothing to check.
		out, st.Invalid = s.dropMerged(out, st.Invalid)
	}
	return out, st
}

// dropMerged removes every sample whose series already occurred in the
// batch, keeping the first.
func (s *Stage) dropMerged(out []scrape.Sample, invalid int) ([]scrape.Sample, int) {
	n := 0
	for i := range out {
		h := out[i].Hash
		if g, ok := s.seen[h]; ok && g == s.gen {
			invalid++
			continue
		}
		s.seen[h] = s.gen
		out[n] = out[i]
		n++
	}
	if len(s.seen) > 2*len(out)+minKeep {
		s.seen = make(map[uint64]uint32, len(out))
	}
	return out[:n], invalid
}

// lookup returns the cache entry for smp's series, computing it on a miss.
func (s *Stage) lookup(smp *scrape.Sample) int32 {
	if i, ok := s.idx[smp.Hash]; ok && sameInput(&s.ents[i], smp) {
		s.stamp(i)
		return i
	}
	e := s.compute(smp)
	i, ok := s.idx[smp.Hash]
	if !ok {
		i = int32(len(s.ents))
		s.ents = append(s.ents, e)
		s.idx[smp.Hash] = i
	} else { // a hash collision or a changed series under the same hash
		s.ents[i] = e
	}
	s.used++
	return i
}

func (s *Stage) stamp(i int32) {
	if e := &s.ents[i]; e.gen != s.gen {
		e.gen = s.gen
		s.used++
	}
}

// sameInput reports whether e was computed for smp's name and labels.
func sameInput(e *entry, smp *scrape.Sample) bool {
	if e.inName != smp.Name || len(e.inLabels) != len(smp.Labels) {
		return false
	}
	if len(smp.Labels) == 0 || &e.inLabels[0] == &smp.Labels[0] {
		return true // the parser shared the label slice of a cached line
	}
	for i := range smp.Labels {
		if e.inLabels[i] != smp.Labels[i] {
			return false
		}
	}
	return true
}

// compute runs the rules on one series.
func (s *Stage) compute(smp *scrape.Sample) entry {
	e := entry{inName: smp.Name, inLabels: smp.Labels, inHash: smp.Hash, gen: s.gen}
	lb := s.lb
	lb.Reset(labels.EmptyLabels())
	lb.Set(model.MetricNameLabel, smp.Name)
	for _, l := range smp.Labels {
		lb.Set(l.Name, l.Value)
	}
	if !promrelabel.ProcessBuilder(lb, s.rules...) {
		return e
	}
	e.keep = true
	name := lb.Get(model.MetricNameLabel)
	if name == "" {
		e.invalid = true
		return e
	}
	var ls scrape.Labels
	valid := true
	lb.Range(func(l labels.Label) {
		if l.Name == model.MetricNameLabel {
			return
		}
		if !validName(l.Name) || !utf8.ValidString(l.Value) {
			valid = false
		}
		ls = append(ls, scrape.Label{Name: l.Name, Value: l.Value})
	})
	if !valid {
		e.invalid = true
		return e
	}
	sortLabels(ls)
	if name == smp.Name && equalLabels(ls, smp.Labels) {
		e.same, e.name, e.labels, e.hash = true, smp.Name, smp.Labels, smp.Hash
		return e
	}
	e.name, e.labels, e.hash = name, ls, scrape.SeriesHash(name, ls)
	return e
}

// validName is Prometheus' UTF-8 label name rule: not empty, valid UTF-8.
func validName(n string) bool { return n != "" && utf8.ValidString(n) }

func equalLabels(a, b scrape.Labels) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

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
	for _, e := range old {
		if e.gen == s.gen {
			s.idx[e.inHash] = int32(len(s.ents))
			s.ents = append(s.ents, e)
		}
	}
}
