package scrape

import "unicode/utf8"

// internMinKeep is the table size below which an interner is never rebuilt:
// rebuilding a small table saves nothing worth its allocations.
const internMinKeep = 4096

// interner hands out one shared string per distinct byte sequence so that a
// steady exposition costs no string allocations after its first scrape, and
// so that retained samples of consecutive scrapes share their strings.
//
// It is bounded by generations: each Parse starts a generation, every string
// handed out is stamped with it, and end() rebuilds the table from the current
// generation alone when the table has grown well past what the last scrape
// used (label values that churn, such as per-request ids, would otherwise
// accumulate forever). Only valid UTF-8 is ever stored, so a hit needs no
// re-validation.
type interner struct {
	idx  map[string]int32
	ents []internEntry
	gen  uint32
	used int // distinct entries stamped in the current generation
}

type internEntry struct {
	s   string
	gen uint32
}

// begin starts a new generation (one per Parse).
func (in *interner) begin() {
	if in.idx == nil {
		in.idx = make(map[string]int32)
	}
	in.gen++
	in.used = 0
}

// bytes returns the interned copy of b, or ok=false when b is not valid UTF-8.
func (in *interner) bytes(b []byte) (s string, ok bool) {
	if i, hit := in.idx[string(b)]; hit {
		return in.stamp(i), true
	}
	if !utf8.Valid(b) {
		return "", false
	}
	return in.add(string(b)), true
}

// string is bytes for a string the caller already owns (protobuf decoding);
// the caller's copy is kept on a miss, no new one is made.
func (in *interner) string(s string) (string, bool) {
	if i, hit := in.idx[s]; hit {
		return in.stamp(i), true
	}
	if !utf8.ValidString(s) {
		return "", false
	}
	return in.add(s), true
}

func (in *interner) stamp(i int32) string {
	e := &in.ents[i]
	if e.gen != in.gen {
		e.gen = in.gen
		in.used++
	}
	return e.s
}

func (in *interner) add(s string) string {
	in.idx[s] = int32(len(in.ents))
	in.ents = append(in.ents, internEntry{s: s, gen: in.gen})
	in.used++
	return s
}

// len is the number of strings held.
func (in *interner) len() int { return len(in.ents) }

// end closes the generation, dropping every string the generation did not use
// once the table holds more than twice that many (plus a floor).
func (in *interner) end() {
	if len(in.ents) <= 2*in.used+internMinKeep {
		return
	}
	idx := make(map[string]int32, in.used)
	ents := make([]internEntry, 0, in.used)
	for _, e := range in.ents {
		if e.gen == in.gen {
			idx[e.s] = int32(len(ents))
			ents = append(ents, e)
		}
	}
	in.idx, in.ents = idx, ents
}
