package remotewrite

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/s2"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

const metricNameLabel = "__name__"

// familyName strips a histogram or summary suffix from a sample name, so a
// family's buckets, _sum, _count (and their stale markers) always hash to
// the same shard.
func familyName(name string) string {
	for _, suf := range [...]string{"_bucket", "_count", "_sum", "_gcount", "_gsum", "_created"} {
		if t, ok := strings.CutSuffix(name, suf); ok && t != "" {
			return t
		}
	}
	return name
}

// encoder turns sample batches into remote-write 1.0 requests. It is not
// safe for concurrent use; its scratch buffers are reused between batches.
type encoder struct {
	maxSamples int
	builders   []builder      // one per shard
	lbls       []scrape.Label // the current sample's final label set
	in         scrape.Labels  // the current sample's own labels, read once
	buf        []byte         // the uncompressed WriteRequest being built
	snap       []byte         // snappy scratch (sized for the worst case)
	changed    bool           // e.lbls differs from the sample's own name and labels
	digest     xxhash.Digest
	metricMemo nameMemo // escaped metric names
	labelMemo  nameMemo // escaped label names
	// exemplars is nil unless the sink sends exemplars (send_exemplars).
	exemplars *exMemo
	exBuf     []byte // one series' encoded exemplars
	// bodies holds request bodies the Runner handed back (Recycle); set
	// once by New, nil in tests that build an encoder alone (fresh bodies).
	bodies *sinks.BodyPool
}

func newEncoder(maxSamples, shards int) *encoder {
	e := &encoder{maxSamples: maxSamples, builders: make([]builder, shards),
		metricMemo: newNameMemo(metricMemoSize, true), labelMemo: newNameMemo(labelMemoSize, false)}
	for i := range e.builders {
		e.builders[i] = builder{shard: uint32(i), index: make(map[uint64]int32)}
	}
	return e
}

// builder accumulates the series and points of one shard's next request.
type builder struct {
	shard    uint32
	index    map[uint64]int32 // identity hash -> series
	overflow map[string]int32 // series whose identity hash collided
	series   []labelRange
	labels   []byte // every series' final labels, encoded (appendLabels)
	points   []point
	exs      []exPoint // exemplars to send, when the sink sends them
	samples  int
}

type labelRange struct{ lo, hi int }

type point struct {
	series int32
	seq    int32 // position in the batch: the later of two equal timestamps wins
	ts     int64
	v      float64
}

// encode spreads samples over the shards' builders group by group, flushing
// a builder into a request whenever the next group would take it over
// maxSamples, and flushes every builder at the end. Requests of one shard
// appear in the order they must be sent.
func (e *encoder) encode(samples []scrape.Sample) (sinks.Encoded, error) {
	var out sinks.Encoded
	if len(samples) > math.MaxInt32 {
		return out, fmt.Errorf("remotewrite: encode: batch of %d samples is too large", len(samples))
	}
	for i := 0; i < len(samples); {
		end := scrape.GroupEnd(samples, i)
		var b *builder
		for j := i; j < end; j++ {
			s := &samples[j]
			ok := e.resolve(s)
			if b == nil {
				b = &e.builders[e.shardOf(s, ok)]
				if b.samples > 0 && b.samples+(end-i) > e.maxSamples {
					out.Requests = append(out.Requests, e.flush(b))
				}
			}
			if !ok {
				out.Dropped++
				continue
			}
			h := e.identity(s)
			id := b.seriesID(h, e.lbls)
			b.points = append(b.points, point{series: id, seq: int32(j), ts: s.TimestampMs, v: s.Value})
			if e.exemplars != nil && s.ExemplarRef != 0 {
				e.addExemplar(b, id, j, h, s)
			}
			b.samples++
		}
		i = end
	}
	for i := range e.builders {
		if b := &e.builders[i]; b.samples > 0 {
			out.Requests = append(out.Requests, e.flush(b))
		}
	}
	return out, nil
}

// resolve fills e.lbls with the label set the receiver will see: names
// escaped to the legacy charset, __name__ included, empty values omitted,
// sorted byte-wise by name, names unique. It records in e.changed whether
// that set differs from the sample's own name and labels, and reports false
// when the sample has no metric name and cannot be sent.
//
// The parser's label sets say whether every name is a legacy name and every
// value valid UTF-8 (scrape.StrProps); such a set in order needs no check
// per label, and is read straight into e.lbls after __name__.
func (e *encoder) resolve(s *scrape.Sample) bool {
	name := e.metricMemo.escape(s.Name)
	changed := name != s.Name
	ls, names, values := s.Labels.AppendToProps(append(e.lbls[:0], scrape.Label{Name: metricNameLabel, Value: name}))
	if names&scrape.PropLegacyName != 0 && values&scrape.PropUTF8 != 0 && cleanOrder(ls) {
		e.lbls, e.changed = ls, changed
		return name != ""
	}
	e.in = append(e.in[:0], ls[1:]...)
	ls = ls[:0]
	inserted := false
	for _, l := range e.in {
		if l.Name == "" || l.Value == "" {
			changed = true
			continue
		}
		n := e.labelMemo.escape(l.Name)
		if !inserted && nameGE(n, metricNameLabel) {
			ls = append(ls, scrape.Label{Name: metricNameLabel, Value: name})
			inserted = true
		}
		val := validUTF8(l.Value)
		changed = changed || n != l.Name || val != l.Value
		ls = append(ls, scrape.Label{Name: n, Value: val})
	}
	if !inserted {
		ls = append(ls, scrape.Label{Name: metricNameLabel, Value: name})
	}
	for i := 1; i < len(ls); i++ {
		if nameGE(ls[i-1].Name, ls[i].Name) {
			ls = normalize(ls)
			changed = true
			break
		}
	}
	e.lbls, e.changed = ls, changed
	return name != ""
}

// cleanOrder reports whether ls (__name__ first, then a set's labels) is
// sorted with unique names and has no empty value: a resolved label set
// as it is.
func cleanOrder(ls []scrape.Label) bool {
	for i := 1; i < len(ls); i++ {
		if ls[i].Value == "" || nameGE(ls[i-1].Name, ls[i].Name) {
			return false
		}
	}
	return true
}

// nameGE is a >= b, deciding on the first byte when it differs (nearly
// always for adjacent label names) without a call into the runtime's
// string comparison, which showed as 2% of promfwd's CPU in perf.
func nameGE(a, b string) bool {
	if a != "" && b != "" && a[0] != b[0] {
		return a[0] > b[0]
	}
	return a >= b
}

// normalize sorts labels whose order escaping (or a caller) disturbed and
// drops duplicate names. Sorting is stable, so among labels that escaped to
// the same name the metric name wins, then the one whose original name sorted
// first.
func normalize(ls []scrape.Label) []scrape.Label {
	slices.SortStableFunc(ls, func(a, b scrape.Label) int { return strings.Compare(a.Name, b.Name) })
	return slices.CompactFunc(ls, func(a, b scrape.Label) bool { return a.Name == b.Name })
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// identity hashes the series as the receiver sees it (e.lbls), so two input
// series that escape to the same names merge into one TimeSeries. It is
// scrape.SeriesHash of the final name and labels, so for the common sample
// that needed no change it is the Hash the scraper already computed.
func (e *encoder) identity(s *scrape.Sample) uint64 {
	if !e.changed && s.Hash != 0 {
		return s.Hash
	}
	return e.hashLabels(false)
}

// hashLabels hashes e.lbls the way scrape.SeriesHash does (metric name
// first, then the other labels). With family set it hashes the group
// identity instead: the name without a histogram/summary suffix and the
// labels without le and quantile.
func (e *encoder) hashLabels(family bool) uint64 {
	d := &e.digest
	d.Reset()
	for _, l := range e.lbls {
		if l.Name == metricNameLabel {
			name := l.Value
			if family {
				name = familyName(name)
			}
			_, _ = d.WriteString(name)
			_, _ = d.WriteString("\xff")
			break
		}
	}
	for _, l := range e.lbls {
		if l.Name == metricNameLabel || (family && (l.Name == "le" || l.Name == "quantile")) {
			continue
		}
		_, _ = d.WriteString(l.Name)
		_, _ = d.WriteString("\xff")
		_, _ = d.WriteString(l.Value)
		_, _ = d.WriteString("\xff")
	}
	return d.Sum64()
}

// shardOf picks the shard for the group whose first sample s is in e.lbls.
// The key is the family (name without a histogram/summary suffix) and the
// labels without le and quantile, so every series of a group, and each
// series on its own (say, a bucket's stale marker), maps to the same shard
// in every batch, whatever its Kind or Meta.
func (e *encoder) shardOf(s *scrape.Sample, resolved bool) int {
	if len(e.builders) == 1 || !resolved {
		return 0
	}
	key := e.identity(s)
	if e.groupMember() {
		key = e.hashLabels(true)
	}
	return int(key % uint64(len(e.builders)))
}

// groupMember reports whether e.lbls could belong to a histogram or summary
// group, that is whether its group key differs from its series identity.
func (e *encoder) groupMember() bool {
	for _, l := range e.lbls {
		switch l.Name {
		case "le", "quantile":
			return true
		case metricNameLabel:
			if familyName(l.Value) != l.Value {
				return true
			}
		}
	}
	return false
}

// seriesID returns the builder's index for the series with labels ls and
// identity hash h, adding the series when it is new. The labels are
// encoded at the end of b.labels first: a new series keeps them there, a
// known one compares them with its own and takes them back.
func (b *builder) seriesID(h uint64, ls []scrape.Label) int32 {
	lo := len(b.labels)
	b.labels = appendLabels(b.labels, ls)
	id, ok := b.index[h]
	if !ok {
		id = b.addSeries(lo)
		b.index[h] = id
		return id
	}
	enc := b.labels[lo:]
	if r := b.series[id]; bytes.Equal(b.labels[r.lo:r.hi], enc) {
		b.labels = b.labels[:lo]
		return id
	}
	// A 64-bit hash collision: fall back to the full identity, the
	// labels' encoding (one per label set).
	if id, ok := b.overflow[string(enc)]; ok {
		b.labels = b.labels[:lo]
		return id
	}
	if b.overflow == nil {
		b.overflow = make(map[string]int32)
	}
	id = b.addSeries(lo)
	b.overflow[string(enc)] = id
	return id
}

// addSeries adds the series whose labels b.labels holds from lo on.
func (b *builder) addSeries(lo int) int32 {
	b.series = append(b.series, labelRange{lo: lo, hi: len(b.labels)})
	return int32(len(b.series) - 1)
}

func (b *builder) reset() {
	clear(b.index)
	clear(b.overflow)
	clear(b.exs) // drop references to the batch's exemplars
	b.series, b.labels, b.points, b.exs, b.samples = b.series[:0], b.labels[:0], b.points[:0], b.exs[:0], 0
}

func comparePoints(a, b point) int {
	if c := cmp.Compare(a.series, b.series); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ts, b.ts); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// flush encodes b as one WriteRequest (one TimeSeries per series, series in
// order of first appearance, samples by timestamp; of two samples with the
// same timestamp the later one in the batch is kept), compresses it with
// snappy's block format and resets b.
func (e *encoder) flush(b *builder) sinks.Request {
	pts := b.points
	if !slices.IsSortedFunc(pts, comparePoints) {
		slices.SortFunc(pts, comparePoints)
	}
	exs := b.exs
	if !slices.IsSortedFunc(exs, compareExPoints) {
		slices.SortFunc(exs, compareExPoints)
	}
	buf := e.buf[:0]
	for i := 0; i < len(pts); {
		j := i + 1
		for j < len(pts) && pts[j].series == pts[i].series {
			j++
		}
		var ex []byte
		if len(exs) > 0 && exs[0].series == pts[i].series {
			k := 1
			for k < len(exs) && exs[k].series == exs[0].series {
				k++
			}
			e.exBuf = e.appendExemplars(e.exBuf[:0], exs[:k])
			ex, exs = e.exBuf, exs[k:]
		}
		r := b.series[pts[i].series]
		buf = appendTimeSeries(buf, b.labels[r.lo:r.hi], pts[i:j], ex)
		i = j
	}
	e.buf = buf
	if n := s2.MaxEncodedLen(len(buf)); cap(e.snap) < n {
		e.snap = make([]byte, n)
	}
	// Compress into scratch and copy out, so a queued request holds its
	// compressed size (rounded up to a size class of the body pool) rather
	// than the worst-case buffer.
	// s2.EncodeSnappy writes the snappy block format at s2's fastest level;
	// klauspost's snappy.Encode uses its "better" level, which cost about
	// twice the CPU (pprof of promfwd-bench) for a few percent of size.
	z := s2.EncodeSnappy(e.snap[:cap(e.snap)], buf)
	body := e.bodies.Get(len(z))
	copy(body, z)
	req := sinks.Request{Body: body, Samples: b.samples, Shard: b.shard}
	b.reset()
	return req
}
