package hec

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/gzip"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/jsonw"
)

// gzipLevel was picked by BenchmarkEncode*Gzip: BestSpeed compresses metric
// JSON about 10x at a third of the default level's CPU cost.
const gzipLevel = gzip.BestSpeed

// encoder turns sample batches into HEC request bodies. Its buffers are
// reused across calls; it is used by one goroutine at a time.
type encoder struct {
	multi     bool
	maxBytes  int
	maxEvents int
	gzip      bool
	head      []byte // `,"event":"metric",...,"fields":{` written after the time

	req    []byte // plain body of the request being built (its tail once streaming; body.go)
	size   int    // bytes the request will have once finalized
	events int
	count  int // samples in the request
	grp    []byte
	zbuf   bytes.Buffer
	zw     *gzip.Writer // BestSpeed, for bodies that spill (body.go)
	zs     *gzip.Writer // stateless, for small bodies
	stream bool         // the open request's start is in zw
	out    []sinks.Request
	// bodies holds request bodies the Runner handed back (Recycle, body.go);
	// nil when an encoder is built alone (fresh bodies).
	bodies *sinks.BodyPool

	// multi-metric state for the open request
	arena  []byte
	evs    []mevent
	segs   []mseg
	byKey  map[uint64]int
	names  map[uint64]struct{}
	pend   []pending
	digest *xxhash.Digest

	shard  uint32 // the next request's Shard
	times  timeMemo
	dims   dimNamer
	mnames names
	// collisions counts samples of the current encode dropped because
	// their metric name maps onto another's; collided names the last one.
	collisions int
	collided   [2]string
}

// mevent is one open multi-metric event; its metric fields are a linked list
// of segments in arena.
type mevent struct {
	ts               int64
	first            int // batch index of the sample that opened it
	dimsOff, dimsLen int
	segHead, segTail int
}

// mseg is one `,"metric_name:x":v` field in arena.
type mseg struct{ off, len, next int }

// pending is one sample of the group being added in multi-metric mode;
// offsets point into grp.
type pending struct {
	idx              int
	name             string // the metric name sent
	key              uint64
	segOff, segLen   int
	dimsOff, dimsLen int
}

// newEncoder precomputes the constant part of every event.
func newEncoder(cfg Config, host string) *encoder {
	head := []byte(`,"event":"metric"`)
	for _, kv := range [...]struct{ k, v string }{{"host", host}, {"source", cfg.Source}, {"sourcetype", cfg.SourceType}, {"index", cfg.Index}} {
		if kv.v == "" {
			continue
		}
		head = append(head, ',')
		head = jsonw.AppendString(head, kv.k)
		head = append(head, ':')
		head = jsonw.AppendString(head, kv.v)
	}
	head = append(head, `,"fields":{`...)
	maxEvents := cfg.MaxEvents
	if maxEvents <= 0 {
		maxEvents = math.MaxInt
	}
	return &encoder{
		multi:     cfg.MultiMetric,
		maxBytes:  int(cfg.MaxRequestBytes),
		maxEvents: maxEvents,
		gzip:      cfg.Gzip,
		head:      head,
		byKey:     make(map[uint64]int),
		names:     make(map[uint64]struct{}),
		digest:    xxhash.New(),
		mnames:    newNames(),
	}
}

// eventOverhead is the size of an event apart from its fields' contents:
// `{"time":T` + head + `}}\n`.
func (e *encoder) eventOverhead(ts int64) int {
	return len(`{"time":`) + e.times.size(ts) + len(e.head) + len("}}\n")
}

// encode returns the requests for samples, each within maxBytes and
// maxEvents unless a single histogram/summary group alone exceeds them.
func (e *encoder) encode(samples []scrape.Sample) (sinks.Encoded, error) {
	var enc sinks.Encoded
	e.out = nil
	e.collisions = 0
	for i := 0; i < len(samples); {
		end := scrape.GroupEnd(samples, i)
		if e.multi {
			enc.Dropped += e.addGroupMulti(samples, i, end)
		} else {
			enc.Dropped += e.addGroupSingle(samples, i, end)
		}
		i = end
	}
	e.flush()
	enc.Requests = e.out
	enc.NameCollisions = e.collisions
	e.out = nil
	return enc, nil
}

// skip reports whether a sample cannot be sent and whether it counts as dropped.
func skip(v float64) (skipped, dropped bool) {
	if math.IsNaN(v) {
		return true, !scrape.IsStaleNaN(v)
	}
	if math.IsInf(v, 0) {
		return true, true
	}
	return false, false
}

// addGroupSingle encodes samples[i:end] as one event each.
func (e *encoder) addGroupSingle(samples []scrape.Sample, i, end int) (dropped int) {
	e.grp = e.grp[:0]
	n := 0
	for j := i; j < end; j++ {
		s := &samples[j]
		if sk, dr := skip(s.Value); sk {
			if dr {
				dropped++
			}
			continue
		}
		name, ok := e.metricName(s.Name)
		if !ok {
			continue
		}
		e.grp = append(e.grp, `{"time":`...)
		e.grp = e.times.append(e.grp, s.TimestampMs)
		e.grp = append(e.grp, e.head...)
		e.grp = append(e.grp, `"metric_name":"`...)
		e.grp = append(e.grp, name...) // JSON-plain: see metricName
		e.grp = append(e.grp, '"')
		e.grp = append(e.grp, `,"_value":`...)
		e.grp = jsonw.AppendFloat(e.grp, s.Value)
		e.grp = e.dims.appendDims(e.grp, s.Labels)
		e.grp = append(e.grp, "}}\n"...)
		n++
	}
	if n == 0 {
		return dropped
	}
	if e.events > 0 && (e.size+len(e.grp) > e.maxBytes || e.events+n > e.maxEvents) {
		e.flush()
	}
	e.write(e.grp)
	e.size += len(e.grp)
	e.events += n
	e.count += n
	return dropped
}

// addGroupMulti adds samples[i:end] to the open request's multi-metric
// events, opening a new request first if the group might not fit.
func (e *encoder) addGroupMulti(samples []scrape.Sample, i, end int) (dropped int) {
	e.grp = e.grp[:0]
	e.pend = e.pend[:0]
	worst := 0
	for j := i; j < end; j++ {
		s := &samples[j]
		if sk, dr := skip(s.Value); sk {
			if dr {
				dropped++
			}
			continue
		}
		name, ok := e.metricName(s.Name)
		if !ok {
			continue
		}
		ls, plain := e.dims.read(s.Labels) // decoded once: the key and the dimensions
		p := pending{idx: j, key: e.seriesKey(s.TimestampMs, ls), name: name, segOff: len(e.grp)}
		e.grp = appendMetricField(e.grp, name, s.Value)
		p.segLen = len(e.grp) - p.segOff
		p.dimsOff = len(e.grp)
		e.grp = e.dims.appendLabels(e.grp, ls, plain)
		p.dimsLen = len(e.grp) - p.dimsOff
		worst += e.eventOverhead(s.TimestampMs) + p.dimsLen + p.segLen
		e.pend = append(e.pend, p)
	}
	if len(e.pend) == 0 {
		return dropped
	}
	// Worst case every sample opens an event; flushing on the worst case
	// wastes at most one group's size and keeps the group in one request.
	if e.events > 0 && (e.size+worst > e.maxBytes || e.events+len(e.pend) > e.maxEvents) {
		e.flush()
	}
	for _, p := range e.pend {
		e.place(samples, p)
	}
	e.count += len(e.pend)
	return dropped
}

// metricName is the name sent for a scraped name (see metricName in
// names.go); false means the sample is dropped as a name collision.
func (e *encoder) metricName(scraped string) (string, bool) {
	out, ok := e.mnames.lookup(scraped)
	if !ok {
		e.collisions++
		e.collided = [2]string{scraped, out}
	}
	return out, ok
}

// appendMetricField appends `,"metric_name:<name>":<value>`.
func appendMetricField(dst []byte, name string, v float64) []byte {
	dst = append(dst, `,"metric_name:`...)
	dst = append(dst, name...) // JSON-plain: see metricName
	dst = append(dst, '"', ':')
	return jsonw.AppendFloat(dst, v)
}

// seriesKey hashes a sample's timestamp and labels: samples with equal keys
// (verified, since hashes can collide) share one multi-metric event.
func (e *encoder) seriesKey(ts int64, ls scrape.Labels) uint64 {
	d := e.digest
	d.Reset()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(ts))
	_, _ = d.Write(b[:])
	for _, l := range ls {
		_, _ = d.WriteString(l.Name)
		_, _ = d.Write([]byte{0xff})
		_, _ = d.WriteString(l.Value)
		_, _ = d.Write([]byte{0xff})
	}
	return d.Sum64()
}

// place adds one pending sample to a matching open event, or opens one.
func (e *encoder) place(samples []scrape.Sample, p pending) {
	s := &samples[p.idx]
	key := p.key
	for {
		ei, ok := e.byKey[key]
		if !ok {
			break
		}
		ev := &e.evs[ei]
		if ev.ts != s.TimestampMs || !samples[ev.first].Labels.Equal(s.Labels) {
			key++ // hash collision with another series: probe on
			continue
		}
		nk := nameKey(ei, p.name)
		if _, dup := e.names[nk]; dup {
			// The same metric twice for one series and time (two
			// sources in one batch) or a name-hash collision: a JSON
			// object cannot hold both, so open a fresh event.
			break
		}
		e.names[nk] = struct{}{}
		si := e.addSeg(p)
		e.segs[ev.segTail].next = si
		ev.segTail = si
		e.size += p.segLen
		return
	}
	ei := len(e.evs)
	dimsOff := len(e.arena)
	e.arena = append(e.arena, e.grp[p.dimsOff:p.dimsOff+p.dimsLen]...)
	si := e.addSeg(p)
	e.evs = append(e.evs, mevent{ts: s.TimestampMs, first: p.idx, dimsOff: dimsOff, dimsLen: p.dimsLen, segHead: si, segTail: si})
	e.byKey[key] = ei
	e.names[nameKey(ei, p.name)] = struct{}{}
	e.size += e.eventOverhead(s.TimestampMs) + p.dimsLen + p.segLen - 1 // first field has no comma
	e.events++
}

func (e *encoder) addSeg(p pending) int {
	off := len(e.arena)
	e.arena = append(e.arena, e.grp[p.segOff:p.segOff+p.segLen]...)
	e.segs = append(e.segs, mseg{off: off, len: p.segLen, next: -1})
	return len(e.segs) - 1
}

func nameKey(event int, name string) uint64 {
	return xxhash.Sum64String(name) ^ (uint64(event)+1)*0x9E3779B97F4A7C15
}

// flush finalizes the open request (if any) into e.out.
func (e *encoder) flush() {
	if e.events == 0 {
		return
	}
	if e.multi {
		for i := range e.evs {
			ev := &e.evs[i]
			e.req = append(e.req, `{"time":`...)
			e.req = e.times.append(e.req, ev.ts)
			e.req = append(e.req, e.head...)
			first := true
			for si := ev.segHead; si >= 0; si = e.segs[si].next {
				seg := e.arena[e.segs[si].off : e.segs[si].off+e.segs[si].len]
				if first {
					seg = seg[1:]
					first = false
				}
				e.req = append(e.req, seg...)
			}
			e.req = append(e.req, e.arena[ev.dimsOff:ev.dimsOff+ev.dimsLen]...)
			e.req = append(e.req, "}}\n"...)
			e.maybeSpill()
		}
		e.arena = e.arena[:0]
		e.evs = e.evs[:0]
		e.segs = e.segs[:0]
		clear(e.byKey)
		clear(e.names)
	}
	e.out = append(e.out, sinks.Request{Body: e.body(), Samples: e.count, Shard: e.shard})
	e.shard++ // round-robin: HEC needs no order between requests
	e.req = e.req[:0]
	e.size, e.events, e.count = 0, 0, 0
}
