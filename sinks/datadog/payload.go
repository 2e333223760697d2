package datadog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/sinks"
)

// limits are the intake's per-request bounds.
type limits struct {
	compressed   int // bytes on the wire
	uncompressed int // bytes of JSON
	points       int // points per payload (the Datadog Agent's own bound)
}

func defaultLimits() limits {
	return limits{compressed: 512_000, uncompressed: 5_242_880, points: 10_000}
}

const (
	envelopeOpen  = `{"series":[`
	envelopeClose = `]}`
)

// pack splits the encoded series into requests within s.limits, keeping
// each unit (a histogram or summary group) in one request when it fits.
// It returns the series dropped because one alone exceeds a limit.
func (s *Sink) pack() ([]sinks.Request, int, error) {
	e := &s.enc
	lim := s.limits
	// A unit that cannot fit in any request travels series by series.
	units := e.units[:0:0]
	for _, u := range e.units {
		if u.to-u.from > lim.points || s.unitBytes(u.from, u.to) > lim.uncompressed {
			for i := u.from; i < u.to; i++ {
				units = append(units, unit{i, i + 1})
			}
			continue
		}
		units = append(units, u)
	}
	var (
		reqs    []sinks.Request
		dropped int
	)
	for start := 0; start < len(units); {
		pts, size, end := 0, 0, start
		for end < len(units) {
			u := units[end]
			up, ub := u.to-u.from, s.unitBytes(u.from, u.to)
			if end > start && (pts+up > lim.points || size+ub > lim.uncompressed) {
				break
			}
			pts, size = pts+up, size+ub
			end++
		}
		var err error
		if reqs, dropped, err = s.emit(reqs, dropped, units[start:end]); err != nil {
			return nil, 0, err
		}
		start = end
	}
	return reqs, dropped, nil
}

// unitBytes is the size of series [from, to) in a request body, envelope included.
func (s *Sink) unitBytes(from, to int) int {
	return len(envelopeOpen) + len(envelopeClose) + s.seriesStart(to) - s.seriesStart(from) - 1
}

func (s *Sink) seriesStart(i int) int {
	if i == 0 {
		return 0
	}
	return s.enc.ends[i-1]
}

// emit compresses units into one request, halving them while the
// compressed body is over the limit. A single series over the limit is
// dropped and counted.
func (s *Sink) emit(reqs []sinks.Request, dropped int, units []unit) ([]sinks.Request, int, error) {
	from, to := units[0].from, units[len(units)-1].to
	raw := s.enc.buf[s.seriesStart(from) : s.seriesStart(to)-1] // without the last ','
	body, err := s.enc.comp.compress([]byte(envelopeOpen), raw, []byte(envelopeClose))
	if err != nil {
		return nil, 0, err
	}
	if len(body) > s.limits.compressed || len(raw)+len(envelopeOpen)+len(envelopeClose) > s.limits.uncompressed {
		s.enc.comp.bodies.Put(body) // never queued
		switch {
		case len(units) > 1:
			half := len(units) / 2
			if reqs, dropped, err = s.emit(reqs, dropped, units[:half]); err != nil {
				return nil, 0, err
			}
			return s.emit(reqs, dropped, units[half:])
		case to-from > 1:
			single := make([]unit, 0, to-from)
			for i := from; i < to; i++ {
				single = append(single, unit{i, i + 1})
			}
			return s.emit(reqs, dropped, single)
		default:
			s.log.Warn("dropping a series larger than the intake's request limit", zap.Int("bytes", len(raw)))
			return reqs, dropped + 1, nil
		}
	}
	return append(reqs, sinks.Request{Body: body, Samples: to - from}), dropped, nil
}

// compressor compresses request bodies with a reusable writer. It is not
// safe for concurrent use.
type compressor struct {
	encoding string
	out      bytes.Buffer
	gz       *gzip.Writer
	zl       *zlib.Writer
	// bodies holds request bodies the Runner handed back (Recycle); nil
	// for the compressor of a split, whose halves are sent and dropped
	// within one Send.
	bodies *sinks.BodyPool
}

func newCompressor(encoding string) *compressor {
	c := &compressor{encoding: encoding}
	switch encoding {
	case CompressionDeflate:
		c.zl = zlib.NewWriter(&c.out)
	default:
		c.gz = gzip.NewWriter(&c.out)
	}
	return c
}

// compress returns the compressed concatenation of parts in a buffer of
// its own (from the body pool).
func (c *compressor) compress(parts ...[]byte) ([]byte, error) {
	c.out.Reset()
	var w io.WriteCloser
	if c.zl != nil {
		c.zl.Reset(&c.out)
		w = c.zl
	} else {
		c.gz.Reset(&c.out)
		w = c.gz
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return nil, fmt.Errorf("datadog: %s: %w", c.encoding, err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("datadog: %s: %w", c.encoding, err)
	}
	body := c.bodies.Get(c.out.Len())
	copy(body, c.out.Bytes())
	return body, nil
}

// decompress reverses compress (used to split a body the intake refused as
// too large).
func decompress(encoding string, body []byte) ([]byte, error) {
	var r io.ReadCloser
	var err error
	if encoding == CompressionDeflate {
		r, err = zlib.NewReader(bytes.NewReader(body))
	} else {
		r, err = gzip.NewReader(bytes.NewReader(body))
	}
	if err != nil {
		return nil, fmt.Errorf("datadog: %s: %w", encoding, err)
	}
	defer r.Close()
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("datadog: %s: %w", encoding, err)
	}
	return out, nil
}

// splitBody cuts a compressed request body into two halves of its series,
// preferring a cut between two metric families so that a histogram or
// summary stays together. ok is false when the body holds one series.
func splitBody(encoding string, body []byte) (a, b []byte, ok bool, err error) {
	raw, err := decompress(encoding, body)
	if err != nil {
		return nil, nil, false, err
	}
	var p struct {
		Series []json.RawMessage `json:"series"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, false, fmt.Errorf("datadog: split request: %w", err)
	}
	if len(p.Series) < 2 {
		return nil, nil, false, nil
	}
	cut := familyCut(p.Series)
	c := newCompressor(encoding)
	join := func(ss []json.RawMessage) ([]byte, error) {
		parts := make([][]byte, 0, 2*len(ss)+1)
		parts = append(parts, []byte(envelopeOpen))
		for i, s := range ss {
			if i > 0 {
				parts = append(parts, []byte{','})
			}
			parts = append(parts, s)
		}
		parts = append(parts, []byte(envelopeClose))
		return c.compress(parts...)
	}
	if a, err = join(p.Series[:cut]); err != nil {
		return nil, nil, false, err
	}
	if b, err = join(p.Series[cut:]); err != nil {
		return nil, nil, false, err
	}
	return a, b, true, nil
}

// familyCut returns the index nearest the middle at which the family
// (metric name without its .count/.sum/.quantile part) changes, or the
// middle when the whole list is one family.
func familyCut(series []json.RawMessage) int {
	fam := make([]string, len(series))
	for i, s := range series {
		var m struct {
			Metric string `json:"metric"`
		}
		_ = json.Unmarshal(s, &m) // a missing name only makes the cut less tidy
		f := m.Metric
		for _, suf := range []string{suffixCount, suffixSum, suffixQuantile} {
			f = strings.TrimSuffix(f, suf)
		}
		fam[i] = f
	}
	mid := len(series) / 2
	for d := 0; d < mid; d++ {
		for _, i := range []int{mid - d, mid + d} {
			if i > 0 && i < len(series) && fam[i-1] != fam[i] {
				return i
			}
		}
	}
	return mid
}
