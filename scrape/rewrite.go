package scrape

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// SeriesRewriter rewrites a series' identity after parsing: the hook for
// metric_relabel_configs, so that package scrape needs no relabel engine.
// With one in ParseOptions, a text or OpenMetrics Parse runs it once per
// series line the line cache does not know and stores the result with the
// line, so a byte-identical line of a later scrape comes out rewritten (or
// is dropped again) without running any rule, copying any sample or
// holding a second label set. Protobuf parses ignore it (they have no line
// cache): the caller rewrites those samples itself.
//
// RewriteSeries must be a pure function of its input (the cache relies on
// that), and the value in ParseOptions must be comparable (a pointer): the
// cache empties itself when it changes. ls (target labels included, sorted)
// is only valid during the call; the result may alias a buffer of the
// rewriter's, valid until its next call: the parser copies it.
type SeriesRewriter interface {
	RewriteSeries(name string, ls Labels) (outName string, out Labels, v RewriteVerdict)
}

// RewriteVerdict is what a SeriesRewriter made of a series.
type RewriteVerdict uint8

// Rewrite verdicts.
const (
	// RewriteKeep: the sample goes on as outName{out} (sorted, unique
	// names, no empty value).
	RewriteKeep RewriteVerdict = iota
	// RewriteDrop: a rule removed the sample, as the user asked.
	RewriteDrop
	// RewriteInvalid: the rules left the sample unusable (no metric
	// name, an invalid label name); it is never sent.
	RewriteInvalid
)

// RewriteStats counts what a Parse's SeriesRewriter did.
type RewriteStats struct {
	// In is the number of samples before rewriting (after the repeats
	// Dropped counts): Prometheus' scrape_samples_scraped.
	In int
	// Dropped samples were removed by the rules (RewriteDrop).
	Dropped int
	// Invalid samples came out RewriteInvalid, or with the series of an
	// earlier sample of the scrape that had another series before
	// rewriting (merged series: the first one stays, as in a Prometheus
	// scrape).
	Invalid int
}

// Rewritten returns what the last successful Parse's rewriter did, and
// false when none ran (no Rewriter, or a protobuf body).
func (p *Parser) Rewritten() (RewriteStats, bool) { return p.rwStats, p.rwDone }

// lineState values of a rewritten line (rwLine.state).
const (
	lineKept      uint8 = iota // out indexes the line's sample
	lineDropped                // RewriteDrop
	lineInvalid                // RewriteInvalid
	lineRecompute              // a repeat or a merged series last time: parse it afresh
)

// rwLine is what the line cache keeps, with a rewriter, for each series
// line of the last Parse that reached a verdict (keys holds its text). 16
// bytes and no pointer: the garbage collector never scans these arrays.
type rwLine struct {
	in    uint64 // SeriesHash before rewriting, for repeats
	out   int32  // lineKept: index of the line's sample in the Parse's output; else -1
	kind  Kind   // the kind the sample was emitted as
	state uint8
	// renamed: the rules changed the metric name. The name before
	// rewriting (which finds the line's family) is the sample's, unless
	// renamed or not kept: then it is read from the line (hitName).
	renamed bool
}

// hitRewritten fills st for a hit on line i of the last Parse, or reports
// a miss for a line that must be parsed afresh. entry.name stays empty
// when the sample does not carry the line's metric name.
func (c *lineCache) hitRewritten(st *lineState, i int32) bool {
	l := &c.lines[i]
	if l.state == lineRecompute {
		return false
	}
	st.hit, st.pos = true, i
	st.entry = lineEntry{hash: l.in, kind: l.kind}
	if l.state == lineKept && !l.renamed {
		st.entry.name = c.prev.ref(int(l.out), &c.run).name
	}
	return true
}

// hitName completes a line cache hit whose metric name the cache does not
// hold (a line the rules dropped or renamed): it interns the name the line
// starts with. A name quoted inside the braces, or invalid, makes the hit
// a miss: the line is parsed (and rewritten) afresh.
func (p *Parser) hitName(line []byte) bool {
	if p.lc.entry.name != "" {
		return true
	}
	if line[0] != '{' {
		if end := scanMetricName(line, 0); end > 0 {
			if name, ok := p.strs.bytes(line[:end]); ok {
				p.lc.entry.name = name
				return true
			}
		}
	}
	p.lc.hit = false
	return false
}

// emitRewritten is emit with a rewriter. A known line takes its cached
// verdict and sample identity; a new one is built, checked against the
// label limits, hashed and rewritten. Repeats and merged series are found
// when the Parse is done (settleRewritten), unless every line was the one
// at its own position in the last Parse.
func (p *Parser) emitRewritten(name string, kind Kind, v float64, ts int64, explicit bool) error {
	c := &p.lines
	var l rwLine
	var smp Sample
	if p.lc.hit {
		l = c.lines[p.lc.pos]
		if l.state == lineKept {
			smp.Name, smp.Labels, smp.Hash = c.prev.ref(int(l.out), &c.run).name, c.prev.labels(int(l.out)), c.prev.hashes[l.out]
		}
		c.rwSteady = c.rwSteady && int(p.lc.pos) == c.n
	} else {
		c.rwSteady = false
		ls, err := p.exposedLabels()
		if err != nil {
			return err
		}
		in := mergeLabels(p.rwBuf[:0], ls, p.opt.TargetLabels)
		p.rwBuf = in[:0]
		if err := checkLabelLimits(&p.opt.Limits, name, SetOf(in)); err != nil {
			return err
		}
		l = rwLine{in: SeriesHash(name, in), kind: kind, state: lineInvalid}
		oname, out, verdict := c.rw.RewriteSeries(name, in)
		switch verdict {
		case RewriteKeep:
			l.state = lineKept
			smp.Name, smp.Labels = p.internString(oname), p.copyLabels(out)
			l.renamed = smp.Name != name
			if smp.Name == name && slices.Equal(out, in) {
				smp.Hash = l.in
			} else {
				smp.Hash = SeriesHash(smp.Name, out)
			}
		case RewriteDrop:
			l.state = lineDropped
		}
	}
	meta := p.familyMeta()
	p.rwStats.In++
	l.out = -1
	switch l.state {
	case lineKept:
		l.out = int32(len(p.out))
		smp.Value, smp.TimestampMs, smp.Kind, smp.ExplicitTS, smp.Meta = v, ts, kind, explicit, meta
		p.out = append(p.out, smp)
		c.rwChanged = c.rwChanged || smp.Hash != l.in
	case lineDropped:
		p.rwStats.Dropped++
	default:
		p.rwStats.Invalid++
	}
	if !p.lc.armed {
		c.broken = true // positions would not match lines: the cache forgets at the end
	}
	c.push(p.lc.key, &l)
	c.curTs = append(c.curTs, ts)
	return nil
}

// settleRewritten finishes a Parse with a rewriter: unless every line was
// the one at its own position in the last Parse (which held no repeat and
// no merged series, so neither can this one), it drops, in line order, the
// samples that repeat a series before rewriting (Dropped, as emit does
// without a rewriter) and those whose series after rewriting an earlier
// sample of another series already has (Invalid), compacting the output in
// place. Then it applies the sample limit to the samples before rewriting.
func (p *Parser) settleRewritten() error {
	c := &p.lines
	if !c.rwSteady || !c.unique {
		var outs map[uint64]uint64 // series after rewriting -> series before, of its first sample
		if c.rwChanged {
			outs = make(map[uint64]uint64, len(p.out))
		}
		c.materialize() // the records change
		w := 0
		for i := range c.curLines {
			l := &c.curLines[i]
			ts := c.curTs[i]
			keep := l.out >= 0
			last, seen := p.seen.swap(l.in, ts)
			switch {
			case seen && p.countRepeat(ts, last):
				p.rwStats.In--
				switch l.state {
				case lineDropped:
					p.rwStats.Dropped--
				case lineInvalid:
					p.rwStats.Invalid--
				}
				l.state, keep = lineRecompute, false
			case seen:
				c.again = true // kept: the series has two samples
			}
			if keep && outs != nil {
				h := p.out[l.out].Hash
				if first, ok := outs[h]; !ok {
					outs[h] = l.in
				} else if first != l.in {
					p.rwStats.Invalid++
					l.state, keep = lineRecompute, false
				}
			}
			if l.out < 0 {
				continue
			}
			if keep {
				p.out[w], l.out = p.out[l.out], int32(w)
				w++
			} else {
				l.out = -1
			}
		}
		clear(p.out[w:])
		p.out = p.out[:w]
	}
	if lim := p.opt.Limits.MaxSamples; lim > 0 && p.rwStats.In > lim {
		return &LimitError{Limit: "sample", Max: lim}
	}
	return nil
}

// internString returns the interned copy of s, adding a copy of it (never
// s itself, which may pin a larger string of the rewriter's) when new.
// Invalid UTF-8 is copied but never interned.
func (p *Parser) internString(s string) string {
	if i, ok := p.strs.idx[s]; ok {
		return p.strs.stamp(i)
	}
	if !utf8.ValidString(s) {
		return strings.Clone(s)
	}
	return p.strs.add(strings.Clone(s))
}

// copyLabels stores ls as a compact set in the label arena, its strings
// the symbol table's (a new one copied: never the rewriter's own, which may
// pin a larger string).
func (p *Parser) copyLabels(ls Labels) LabelSet {
	for i := range ls {
		ls[i] = Label{Name: p.syms.own(ls[i].Name), Value: p.syms.own(ls[i].Value)}
	}
	p.nLabels += len(ls)
	return p.lab.encode(p.syms, ls)
}
