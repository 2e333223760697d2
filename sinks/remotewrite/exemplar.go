package remotewrite

import (
	"cmp"
	"encoding/binary"
	"math"
	"time"

	"github.com/cespare/xxhash/v2"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/promfwd/promfwd/scrape"
)

// Tag bytes of TimeSeries.exemplars = 3 and the Exemplar message
// (prompb types.proto: labels = 1, value = 2 double, timestamp = 3 int64 ms).
const (
	tagExemplar      = 3<<3 | byte(protowire.BytesType)
	tagExemplarLabel = 1<<3 | byte(protowire.BytesType)
	tagExemplarValue = 2<<3 | byte(protowire.Fixed64Type)
	tagExemplarTS    = 3<<3 | byte(protowire.VarintType)
)

// exPoint is one exemplar waiting in a builder for its series' TimeSeries.
type exPoint struct {
	series int32
	seq    int32 // position in the batch, as point.seq
	ts     int64
	ex     *scrape.Exemplar
}

func compareExPoints(a, b exPoint) int {
	if c := cmp.Compare(a.series, b.series); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ts, b.ts); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// exMemoWindow is how often the exemplar memo rotates: a series that
// carried no exemplar for two windows is forgotten.
const exMemoWindow = 15 * time.Minute

// exMemo remembers, per series (by identity hash), the last exemplar sent,
// so an exemplar is sent once: a Prometheus agent forwards only exemplars
// its exemplar storage accepted, and that storage refuses one equal to the
// series' last (same labels and value, and the same timestamp when the
// exposition gave one). Without this, an exemplar without a timestamp would
// be sent again at every scrape under a new timestamp and stored again.
//
// Two generations bound its memory to the series with exemplars seen in
// the last two windows: every exMemoWindow prev is dropped and cur becomes
// prev; a series seen again is copied into cur.
type exMemo struct {
	cur, prev map[uint64]uint64 // series identity -> exemplar fingerprint
	rotated   time.Time
	digest    xxhash.Digest
}

// rotate starts a new generation when a window has passed since the last.
func (m *exMemo) rotate(now time.Time) {
	if m.rotated.IsZero() {
		m.rotated = now
	}
	if now.Sub(m.rotated) < exMemoWindow {
		return
	}
	m.prev, m.cur, m.rotated = m.cur, make(map[uint64]uint64, len(m.cur)), now
}

// fresh reports whether ex differs from the last exemplar recorded for the
// series, and records it.
func (m *exMemo) fresh(series uint64, ex *scrape.Exemplar) bool {
	fp := m.fingerprint(ex)
	last, ok := m.cur[series]
	if !ok {
		last, ok = m.prev[series]
	}
	if ok && last == fp {
		if _, inCur := m.cur[series]; !inCur {
			m.put(series, fp) // keep it alive across the next rotation
		}
		return false
	}
	m.put(series, fp)
	return true
}

func (m *exMemo) put(series, fp uint64) {
	if m.cur == nil {
		m.cur = make(map[uint64]uint64)
	}
	m.cur[series] = fp
}

// fingerprint hashes what Prometheus' exemplar.Exemplar.Equals compares.
func (m *exMemo) fingerprint(ex *scrape.Exemplar) uint64 {
	d := &m.digest
	d.Reset()
	var b [17]byte
	binary.LittleEndian.PutUint64(b[:8], math.Float64bits(ex.Value))
	if ex.HasTimestamp {
		b[8] = 1
		binary.LittleEndian.PutUint64(b[9:], uint64(ex.TimestampMs))
	}
	_, _ = d.Write(b[:])
	for _, l := range ex.Labels {
		_, _ = d.WriteString(l.Name)
		_, _ = d.WriteString("\xff")
		_, _ = d.WriteString(l.Value)
		_, _ = d.WriteString("\xff")
	}
	return d.Sum64()
}

// addExemplar queues the exemplar of s (in series id of b, identity hash h)
// when the sink sends exemplars and the receiver has not had it yet.
func (e *encoder) addExemplar(b *builder, id int32, seq int, h uint64, s *scrape.Sample) {
	ex := s.Exemplar()
	if ex == nil || !e.exemplars.fresh(h, ex) {
		return
	}
	b.exs = append(b.exs, exPoint{series: id, seq: int32(seq), ts: s.ExemplarTimestamp(ex), ex: ex})
}

// exemplarLabel is an exemplar's label as written: the name escaped as the
// sample's label names are, the value valid UTF-8. Empty ones are skipped.
func (e *encoder) exemplarLabel(l scrape.Label) (scrape.Label, bool) {
	if l.Name == "" || l.Value == "" {
		return l, false
	}
	return scrape.Label{Name: e.labelMemo.escape(l.Name), Value: validUTF8(l.Value)}, true
}

// exemplarSize is the encoded size of one Exemplar message.
func (e *encoder) exemplarSize(p exPoint) int {
	n := 0
	for _, l := range p.ex.Labels {
		if l, ok := e.exemplarLabel(l); ok {
			n += 1 + protowire.SizeBytes(labelSize(l))
		}
	}
	if math.Float64bits(p.ex.Value) != 0 {
		n += 1 + 8
	}
	if p.ts != 0 {
		n += 1 + protowire.SizeVarint(uint64(p.ts))
	}
	return n
}

// appendExemplars appends exs as TimeSeries.exemplars fields.
func (e *encoder) appendExemplars(buf []byte, exs []exPoint) []byte {
	for _, p := range exs {
		buf = append(buf, tagExemplar)
		buf = appendVarint(buf, uint64(e.exemplarSize(p)))
		for _, l := range p.ex.Labels {
			l, ok := e.exemplarLabel(l)
			if !ok {
				continue
			}
			buf = append(buf, tagExemplarLabel)
			buf = appendVarint(buf, uint64(labelSize(l)))
			buf = append(buf, tagLabelName)
			buf = appendVarint(buf, uint64(len(l.Name)))
			buf = append(buf, l.Name...)
			buf = append(buf, tagLabelValue)
			buf = appendVarint(buf, uint64(len(l.Value)))
			buf = append(buf, l.Value...)
		}
		if bits := math.Float64bits(p.ex.Value); bits != 0 {
			buf = append(buf, tagExemplarValue)
			buf = binary.LittleEndian.AppendUint64(buf, bits)
		}
		if p.ts != 0 {
			buf = append(buf, tagExemplarTS)
			buf = appendVarint(buf, uint64(p.ts))
		}
	}
	return buf
}
