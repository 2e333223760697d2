package remotewrite

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/promfwd/promfwd/scrape"
)

// The WriteRequest is written by hand rather than with generated code:
// prompb would pull in prometheus/prometheus and its ~260 modules, and the
// message is small and stable (remote-write 1.0 is frozen).

// Tag bytes of the WriteRequest messages (prometheus/prompb remote.proto and
// types.proto): field number << 3 | wire type, each fits one byte.
const (
	tagTimeSeries  = 1<<3 | byte(protowire.BytesType)   // WriteRequest.timeseries = 1
	tagLabel       = 1<<3 | byte(protowire.BytesType)   // TimeSeries.labels = 1
	tagSample      = 2<<3 | byte(protowire.BytesType)   // TimeSeries.samples = 2
	tagLabelName   = 1<<3 | byte(protowire.BytesType)   // Label.name = 1
	tagLabelValue  = 2<<3 | byte(protowire.BytesType)   // Label.value = 2
	tagSampleValue = 1<<3 | byte(protowire.Fixed64Type) // Sample.value = 1 (double)
	tagSampleTS    = 2<<3 | byte(protowire.VarintType)  // Sample.timestamp = 2 (int64 ms)
)

// appendLabels appends ls as TimeSeries.labels fields (field 1, one
// length-delimited Label each). The builder encodes a series' labels once,
// when the series joins a request, and keeps the bytes.
func appendLabels(buf []byte, ls []scrape.Label) []byte {
	for _, l := range ls {
		if ln := labelSize(l); ln < 0x80 {
			// Every length fits one byte: write the three headers at once.
			buf = append(buf, tagLabel, byte(ln), tagLabelName, byte(len(l.Name)))
			buf = append(buf, l.Name...)
			buf = append(buf, tagLabelValue, byte(len(l.Value)))
			buf = append(buf, l.Value...)
			continue
		}
		buf = append(buf, tagLabel)
		buf = appendVarint(buf, uint64(labelSize(l)))
		buf = append(buf, tagLabelName)
		buf = appendVarint(buf, uint64(len(l.Name)))
		buf = append(buf, l.Name...)
		buf = append(buf, tagLabelValue)
		buf = appendVarint(buf, uint64(len(l.Value)))
		buf = append(buf, l.Value...)
	}
	return buf
}

// appendTimeSeries appends one length-delimited TimeSeries (field 1 of
// WriteRequest): labels as appendLabels wrote them, then pts, one series'
// points sorted by timestamp; of equal timestamps only the last is
// written. Zero values are omitted as proto3 does; the value is written by
// its bits, so stale markers survive intact. exemplars, already encoded as
// TimeSeries.exemplars fields, follow the samples.
func appendTimeSeries(buf []byte, labels []byte, pts []point, exemplars []byte) []byte {
	size := len(labels) + len(exemplars)
	for k := range pts {
		if k+1 < len(pts) && pts[k+1].ts == pts[k].ts {
			continue
		}
		size += 2 + sampleSize(pts[k]) // a Sample is at most 20 bytes: one-byte length
	}
	buf = append(buf, tagTimeSeries)
	buf = appendVarint(buf, uint64(size))
	buf = append(buf, labels...)
	for k, p := range pts {
		if k+1 < len(pts) && pts[k+1].ts == p.ts {
			continue
		}
		buf = append(buf, tagSample, byte(sampleSize(p)))
		if bits := math.Float64bits(p.v); bits != 0 {
			buf = append(buf, tagSampleValue)
			buf = binary.LittleEndian.AppendUint64(buf, bits)
		}
		if p.ts != 0 {
			buf = append(buf, tagSampleTS)
			buf = appendVarint(buf, uint64(p.ts))
		}
	}
	return append(buf, exemplars...)
}

// appendVarint is protowire.AppendVarint with the one-byte case inlined:
// nearly every length in a WriteRequest is below 128.
func appendVarint(buf []byte, v uint64) []byte {
	if v < 0x80 {
		return append(buf, byte(v))
	}
	return protowire.AppendVarint(buf, v)
}

// labelSize is the encoded size of a Label message; name and value are
// never empty here.
func labelSize(l scrape.Label) int {
	n, v := len(l.Name), len(l.Value)
	if n < 0x80 && v < 0x80 { // one-byte lengths: nearly every label
		return 4 + n + v
	}
	return 2 + protowire.SizeBytes(n) + protowire.SizeBytes(v)
}

// sampleSize is the encoded size of a Sample message: at most 1+8+1+10.
func sampleSize(p point) int {
	n := 0
	if math.Float64bits(p.v) != 0 {
		n += 1 + 8
	}
	if p.ts != 0 {
		n += 1 + protowire.SizeVarint(uint64(p.ts))
	}
	return n
}
