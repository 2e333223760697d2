package remotewrite

import (
	"errors"
	"fmt"
	"strings"

	"github.com/klauspost/compress/s2"
	"google.golang.org/protobuf/encoding/protowire"
)

// Reasons a Prometheus receiver gives when it refuses samples of a request
// with 400 (storage.ErrOutOfOrderSample, ErrOutOfBounds, ErrTooOldSample,
// ErrDuplicateSampleForTimestamp, as its write handler prints them), and the
// drop reason each is counted under.
var sampleReasons = []struct{ text, reason string }{
	{"out of order sample", "out_of_order"},
	{"out of bounds", "out_of_bounds"},
	{"too old sample", "too_old"},
	{"duplicate sample for timestamp", "duplicate"},
}

// sampleReason returns the drop reason for a 400 body that names samples,
// or "" when the body does not (the request as a whole is malformed).
func sampleReason(body string) string {
	for _, r := range sampleReasons {
		if strings.Contains(body, r.text) {
			return r.reason
		}
	}
	return ""
}

// wireRequest is a decoded WriteRequest, kept as the raw bytes of its
// fields: series are cut apart and joined again without re-encoding labels.
type wireRequest struct {
	series [][]byte // each TimeSeries message (without the field header)
	other  []byte   // every other field (metadata), encoded, kept with the first half
}

// splitBody cuts a snappy-compressed WriteRequest into two requests with
// about half of its samples each, and reports their sample counts. A series
// with several samples is split between its samples (both halves carry its
// labels). ok is false when the request holds a single sample.
func splitBody(body []byte) (a, b []byte, na, nb int, ok bool, err error) {
	raw, err := s2.Decode(nil, body)
	if err != nil {
		return nil, nil, 0, 0, false, fmt.Errorf("remotewrite: split: snappy: %w", err)
	}
	var wr wireRequest
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return nil, nil, 0, 0, false, errors.New("remotewrite: split: bad tag")
		}
		m := protowire.ConsumeFieldValue(num, typ, raw[n:])
		if m < 0 {
			return nil, nil, 0, 0, false, errors.New("remotewrite: split: bad field")
		}
		if num == 1 && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(raw[n:])
			wr.series = append(wr.series, v)
		} else {
			wr.other = append(wr.other, raw[:n+m]...)
		}
		raw = raw[n+m:]
	}
	counts := make([]int, len(wr.series))
	total := 0
	for i, ts := range wr.series {
		c, err := countSamples(ts)
		if err != nil {
			return nil, nil, 0, 0, false, err
		}
		counts[i] = c
		total += c
	}
	if total < 2 {
		return nil, nil, 0, 0, false, nil
	}
	// Take whole series until half the samples; cut inside the series that
	// straddles the middle.
	var left, right []byte
	left = append(left, wr.other...)
	half, seen := total/2, 0
	for i, ts := range wr.series {
		switch {
		case seen+counts[i] <= half:
			left = appendSeries(left, ts)
		case seen >= half:
			right = appendSeries(right, ts)
		default:
			l, r, err := splitSeries(ts, half-seen)
			if err != nil {
				return nil, nil, 0, 0, false, err
			}
			left = appendSeries(left, l)
			right = appendSeries(right, r)
		}
		seen += counts[i]
	}
	return s2.EncodeSnappy(nil, left), s2.EncodeSnappy(nil, right), half, total - half, true, nil
}

func appendSeries(buf, ts []byte) []byte {
	buf = protowire.AppendTag(buf, 1, protowire.BytesType)
	return protowire.AppendBytes(buf, ts)
}

// countSamples counts the samples and histograms of one TimeSeries.
func countSamples(ts []byte) (int, error) {
	n := 0
	err := eachTSField(ts, func(num protowire.Number, _ []byte) {
		if num == 2 || num == 4 { // samples, histograms
			n++
		}
	})
	return n, err
}

// splitSeries cuts one TimeSeries after its first k samples (k >= 1, fewer
// than it holds); labels and exemplars go with both halves.
func splitSeries(ts []byte, k int) (a, b []byte, err error) {
	i := 0
	err = eachTSField(ts, func(num protowire.Number, field []byte) {
		switch num {
		case 2, 4:
			if i < k {
				a = append(a, field...)
			} else {
				b = append(b, field...)
			}
			i++
		default:
			a = append(a, field...)
			b = append(b, field...)
		}
	})
	return a, b, err
}

// eachTSField calls fn with every field of a TimeSeries, encoded whole.
func eachTSField(ts []byte, fn func(num protowire.Number, field []byte)) error {
	for len(ts) > 0 {
		num, typ, n := protowire.ConsumeTag(ts)
		if n < 0 {
			return errors.New("remotewrite: split: bad series tag")
		}
		m := protowire.ConsumeFieldValue(num, typ, ts[n:])
		if m < 0 {
			return errors.New("remotewrite: split: bad series field")
		}
		fn(num, ts[:n+m])
		ts = ts[n+m:]
	}
	return nil
}
