package scrape

import (
	"bytes"
	"fmt"
)

// Limits bounds what one scrape may yield; exceeding any of them fails the
// whole scrape with a *LimitError. Zero means unlimited.
type Limits struct {
	MaxSamples       int // samples per scrape (skipped _created lines do not count)
	MaxLabels        int // labels per sample, target labels and the metric name included (as Prometheus' label_limit)
	MaxLabelNameLen  int // bytes per label name
	MaxLabelValueLen int // bytes per label value; the metric name counts as a value (as Prometheus)
}

// ParseOptions are the per-scrape inputs of Parse.
type ParseOptions struct {
	// NowMs is the timestamp (ms since epoch) of samples the exposition
	// gives no timestamp for.
	NowMs int64
	// TargetLabels are added to every sample; sorted by name. On conflict the
	// target label wins and the exposed one is renamed "exported_<name>"
	// (repeatedly prefixed until unique), as Prometheus does with
	// honor_labels: false. A target label with an empty value adds nothing
	// but still pushes a same-named exposed label aside.
	TargetLabels Labels
	// HonorLabels keeps an exposed label when a target label has the same
	// name (the target label is not added), as Prometheus' honor_labels.
	HonorLabels bool
	// IgnoreTimestamps stamps every sample with NowMs even when the
	// exposition gives a timestamp (Prometheus' honor_timestamps: false).
	IgnoreTimestamps bool
	Limits           Limits
	// Exemplars keeps exemplars (OpenMetrics text, protobuf counters and
	// classic histogram buckets) in Meta.Exemplars; otherwise they are
	// checked and dropped at no cost.
	Exemplars bool
	// Rewriter, when set, rewrites every text or OpenMetrics sample's
	// series after the target labels and the label limits (as Prometheus'
	// metric_relabel_configs), caching its verdict per series line; see
	// SeriesRewriter. Limits.MaxSamples then counts samples before
	// rewriting. Protobuf parses ignore it.
	Rewriter SeriesRewriter
	// Alloc, when set, provides the output array instead of make: it
	// returns an empty slice of capacity at least n (batchpool.go). The
	// samples may outgrow it, so the caller compares it with the result.
	Alloc func(n int) []Sample
}

// ParseError is a malformed exposition. Line is 1-based; for protobuf it is
// the 1-based number of the length-delimited MetricFamily message.
type ParseError struct {
	Format Format
	Line   int
	Msg    string
}

// Error renders as "parse text line 12: msg" ("parse protobuf message 3: msg").
func (e *ParseError) Error() string {
	unit := "line"
	if e.Format == FormatProtobuf {
		unit = "message"
	}
	return fmt.Sprintf("parse %s %s %d: %s", e.Format, unit, e.Line, e.Msg)
}

// LimitError says which limit a scrape exceeded. Limit is one of "sample",
// "label", "label name length", "label value length".
type LimitError struct {
	Limit string
	Max   int
}

// Error renders as "sample limit 1000 exceeded".
func (e *LimitError) Error() string {
	return fmt.Sprintf("%s limit %d exceeded", e.Limit, e.Max)
}

// metaMinKeep is the metadata cache size below which it is never pruned.
const metaMinKeep = 256

// Parser turns expositions into samples. It is used by one source and is not
// safe for concurrent use. It keeps label names and values in the target's
// symbol table (symtab.go) and series' labels as compact sets referring to
// it, interns metric names and reuses unchanged family metadata across
// scrapes, so a steady exposition allocates almost nothing per sample; the
// intern table is rebuilt from the last scrape's strings whenever it grows
// well past them, the symbol table replaced when mostly unused.
type Parser struct {
	strs        interner
	lines       lineCache // text formats: series text -> finished labels
	metas       map[string]metaSlot
	metasUsed   int
	lastSamples int        // samples of the last successful scrape, to pre-size the next
	lastLabels  int        // labels of the last successful scrape
	set         *SeriesSet // identities of the last successful scrape's samples

	// State of the Parse in progress; cleared by finish.
	format  Format
	line    int
	opt     ParseOptions
	out     []Sample
	syms    *symTable  // the target's label names and values (symtab.go)
	lab     labelArena // compact label storage of new series
	rotate  bool       // syms holds mostly unused symbols: start a new table
	mbuf    Labels     // a new series' labels, before encoding
	nLabels int
	lbuf    []Label // exposed labels of the sample being parsed
	pbBase  []Label // protobuf: labels shared by the samples of one Metric
	scratch []byte  // unescaping and name building; consumed at once by interning
	fam     family
	lc      lineState // the sample line being parsed
	seen    seriesTimes
	dropped Dropped
	rwBuf   Labels       // a new line's labels before rewriting
	rwStats RewriteStats // what the rewriter did in this Parse
	rwDone  bool         // the Parse ran the rewriter
	// outOfBounds marks the sample being parsed as having an OpenMetrics
	// timestamp beyond int64 milliseconds: it is dropped, not the scrape.
	outOfBounds bool
}

// metaSlot caches a family's Meta across scrapes. gen is the interner
// generation that last handed it out, so one Meta never serves two families
// of the same scrape (GroupEnd compares Meta pointers).
type metaSlot struct {
	m   *Meta
	gen uint32
}

// family is the metric family being parsed. Its Meta is built at its first
// sample, once HELP, TYPE and UNIT have all been seen.
type family struct {
	name                      string
	typ                       Type
	hasType, hasHelp, hasUnit bool
	help                      []byte
	unit                      string
	meta                      *Meta
	samples                   bool // a sample of this family has been seen
	outStart                  int  // index in Parser.out of the family's first sample
	ownMeta                   bool // meta is this scrape's own copy, holding exemplars
}

// NewParser returns a Parser with empty intern tables.
func NewParser() *Parser {
	return &Parser{metas: make(map[string]metaSlot)}
}

// Parse parses one exposition body in format f. It returns the samples in
// exposition order, each histogram or summary series' samples contiguous (so
// GroupEnd works), with Kind, Meta (one *Meta per family and scrape; an
// unchanged family reuses the previous scrape's immutable Meta), Labels
// sorted and unique, Hash = SeriesHash(Name, Labels) and ExplicitTS set when
// the exposition had a timestamp. Labels with empty values are dropped, as
// Prometheus treats them as absent; le and quantile values are normalised to
// the OpenMetrics float form ("1" -> "1.0") so a series keeps its identity
// whichever format the target answers in. The returned slice and its labels
// are read-only: later calls never write them, and the next call reads the
// last successful result (its line cache recognises unchanged series lines
// by their identities, Series), so the caller must not modify them.
//
// Errors are *ParseError for a malformed body and *LimitError for an
// exceeded limit; either way no samples are returned.
func (p *Parser) Parse(f Format, body []byte, opt ParseOptions) ([]Sample, error) {
	p.begin(f, body, opt)
	var err error
	switch f {
	case FormatText:
		err = p.parseText(body, false)
	case FormatOpenMetrics:
		err = p.parseText(body, true)
	case FormatProtobuf:
		err = p.parseProtobuf(body)
	default:
		err = fmt.Errorf("parse: unknown format %d", f)
	}
	if err == nil && p.rwDone {
		err = p.settleRewritten() // rewrite.go
	}
	out := p.out
	p.finish(err == nil)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (p *Parser) begin(f Format, body []byte, opt ParseOptions) {
	if p.metas == nil {
		p.metas = make(map[string]metaSlot)
	}
	p.strs.begin()
	p.lines.begin(f, &opt)
	p.lc = lineState{}
	p.metasUsed = 0
	p.format, p.line, p.opt = f, 0, opt
	p.nLabels = 0
	p.fam = family{help: p.fam.help[:0]}
	p.seen.begin()
	p.dropped, p.outOfBounds = Dropped{}, false
	p.rwStats, p.rwDone = RewriteStats{}, p.lines.rw != nil

	n := p.lastSamples
	if n > 0 {
		n += n/16 + 16 // room to grow a little without doubling
	} else if f == FormatProtobuf {
		n = len(body)/64 + 16
	} else {
		n = bytes.Count(body, []byte{'\n'}) + 1
	}
	if opt.Limits.MaxSamples > 0 && n > opt.Limits.MaxSamples {
		n = opt.Limits.MaxSamples
	}
	if opt.Alloc != nil {
		p.out = opt.Alloc(n)[:0]
	} else {
		p.out = make([]Sample, 0, n)
	}
	if p.syms == nil || p.rotate || !sameTargetLabels(p.syms.tl, opt.TargetLabels) {
		// A new table: every series is encoded again, so the line
		// cache and the last set (whose labels are in the old table)
		// start over.
		p.syms, p.rotate, p.set, p.lab = newSymTable(opt.TargetLabels), false, nil, labelArena{}
		p.lines.forget()
	}
	p.lab.hint, p.lines.hint = hintBytes(p.lastLabels), 0
	if p.lastSamples == 0 {
		p.lab.hint, p.lines.hint = hintBytes(6*n), n
	}
}

// finish drops every reference to the caller's data and prunes the tables.
func (p *Parser) finish(ok bool) {
	if ok {
		p.lastSamples, p.lastLabels = len(p.out), p.nLabels
		p.set = p.set.Next(p.out)
	}
	p.lines.end(p.out, p.set, ok)
	p.seen.end(ok && p.lines.prev != nil && p.lines.rw == nil && p.format != FormatProtobuf)
	p.syms.endParse()
	if ok && p.syms.live < 0 {
		// The first Parse into a new table: what it added is the
		// baseline (the labels of lines that are dropped or rewritten
		// are in it too, and come back after any new table).
		p.syms.live = p.syms.size()
	}
	if ok && p.syms.wasteful() {
		p.rotate = 2*p.syms.countLive(p.set.labelSets)+symMinKeep < p.syms.size()
	}
	p.out, p.opt = nil, ParseOptions{}
	clear(p.lbuf)
	clear(p.pbBase)
	p.fam = family{help: p.fam.help[:0]}
	p.lc = lineState{}
	p.strs.end()
	if len(p.metas) > 2*p.metasUsed+metaMinKeep {
		keep := make(map[string]metaSlot, p.metasUsed)
		for k, s := range p.metas {
			if s.gen == p.strs.gen {
				keep[k] = s
			}
		}
		p.metas = keep
	}
}

// Series returns the identities of the last successful Parse's samples,
// in order (nil before one). The set is immutable; a steady exposition
// keeps returning the same one. Holding it instead of the samples keeps
// what a next scrape needs of this one (series, not values) at 12 bytes
// per series instead of 80.
func (p *Parser) Series() *SeriesSet { return p.set }

// errorf returns a *ParseError at the current line.
func (p *Parser) errorf(format string, args ...any) error {
	return &ParseError{Format: p.format, Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

// newFamily starts a family; its type stays unknown until a TYPE line.
func (p *Parser) newFamily(name string) {
	p.fam = family{name: name, help: p.fam.help[:0]}
}

// familyMeta returns the current family's Meta, reusing the cached one when
// nothing changed since an earlier scrape.
func (p *Parser) familyMeta() *Meta {
	f := &p.fam
	if f.meta != nil {
		return f.meta
	}
	f.outStart = len(p.out)
	gen := p.strs.gen
	slot, ok := p.metas[f.name]
	if ok && slot.gen != gen && slot.m.Type == f.typ && slot.m.Unit == f.unit && slot.m.Help == string(f.help) {
		slot.gen = gen
		p.metas[f.name] = slot
		p.metasUsed++
		f.meta = slot.m
		return f.meta
	}
	f.meta = &Meta{Family: f.name, Type: f.typ, Help: string(f.help), Unit: f.unit}
	if !ok || slot.gen != gen {
		p.metas[f.name] = metaSlot{m: f.meta, gen: gen}
		p.metasUsed++
	}
	return f.meta
}

// intern returns the shared copy of b, or a ParseError naming what when b is
// not valid UTF-8.
func (p *Parser) intern(b []byte, what string) (string, error) {
	s, ok := p.strs.bytes(b)
	if !ok {
		return "", p.errorf("invalid UTF-8 in %s", what)
	}
	return s, nil
}

// emit appends a sample of the current family whose exposed labels are in
// p.lbuf (which it reorders), as kind. A sample
// with an out-of-range timestamp, or repeating a series (and timestamp)
// already emitted by this Parse, is dropped and counted instead, as
// Prometheus' scrape drops it.
func (p *Parser) emit(name string, kind Kind, v float64, ts int64, explicit bool) error {
	if p.outOfBounds {
		p.dropped.OutOfBounds++
		return nil
	}
	lim := &p.opt.Limits
	if p.opt.IgnoreTimestamps {
		ts, explicit = p.opt.NowMs, false
	}
	if p.lines.rw != nil {
		return p.emitRewritten(name, kind, v, ts, explicit) // rewrite.go
	}
	if lim.MaxSamples > 0 && len(p.out) >= lim.MaxSamples {
		return &LimitError{Limit: "sample", Max: lim.MaxSamples}
	}
	if p.lc.hit {
		e := &p.lc.entry
		if p.repeated(e.hash, ts) {
			return nil
		}
		p.out = append(p.out, Sample{Name: e.name, Labels: e.labels, Value: v, TimestampMs: ts,
			Kind: kind, ExplicitTS: explicit, Meta: p.familyMeta(), Hash: e.hash})
		p.lines.emitted(&p.lc, len(p.out)-1)
		return nil
	}
	ls, err := p.exposedLabels()
	if err != nil {
		return err
	}
	dst := mergeLabels(p.mbuf[:0], ls, p.opt.TargetLabels)
	p.mbuf = dst[:0]
	if err := checkLabelLimits(lim, name, SetOf(dst)); err != nil {
		return err
	}
	h := SeriesHash(name, dst)
	if p.repeated(h, ts) {
		return nil
	}
	p.nLabels += len(dst)
	p.out = append(p.out, Sample{
		Name:        name,
		Labels:      p.lab.encode(p.syms, dst),
		Value:       v,
		TimestampMs: ts,
		Kind:        kind,
		ExplicitTS:  explicit,
		Meta:        p.familyMeta(),
		Hash:        h,
	})
	p.lines.emitted(&p.lc, len(p.out)-1)
	return nil
}

// exposedLabels returns the sample's exposed labels (p.lbuf, reordered)
// ready to merge with the target labels: sorted, names unique (a repeated
// name is a ParseError), empty values left out and, unless HonorLabels,
// names a target label takes renamed exported_<name>.
func (p *Parser) exposedLabels() (Labels, error) {
	ls := p.lbuf
	sortLabels(ls)
	n := 0
	for i := range ls {
		if i > 0 && ls[i].Name == ls[i-1].Name {
			return nil, p.errorf("duplicate label name %q", ls[i].Name)
		}
		if ls[i].Value != "" {
			ls[n] = ls[i]
			n++
		}
	}
	ls = ls[:n]
	tl := p.opt.TargetLabels
	if len(tl) > 0 && !p.opt.HonorLabels && p.renameConflicts(ls, tl) {
		sortLabels(ls)
	}
	return ls, nil
}
