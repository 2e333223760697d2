package remotewrite

import (
	"fmt"
	"math"
	"testing"

	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// The decoder below is written from remote.proto / types.proto, independently
// of the encoder, and is strict: unknown fields, wrong wire types and
// trailing bytes fail the test.

type wireLabel struct{ Name, Value string }

type wireSample struct {
	Bits uint64 // the value's bits, so stale markers compare exactly
	TS   int64
}

type wireSeries struct {
	Labels    []wireLabel
	Samples   []wireSample
	Exemplars []wireExemplar
}

type wireExemplar struct {
	Labels []wireLabel
	Bits   uint64
	TS     int64
}

func v(f float64) uint64 { return math.Float64bits(f) }

// decodeBody undoes snappy (block format) and decodes a WriteRequest.
func decodeBody(t testing.TB, body []byte) []wireSeries {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatalf("snappy block decode: %v", err)
	}
	series, err := decodeWriteRequest(raw)
	if err != nil {
		t.Fatalf("decode WriteRequest: %v", err)
	}
	return series
}

func decodeWriteRequest(b []byte) ([]wireSeries, error) {
	var out []wireSeries
	err := eachField(b, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
		if num == 3 && typ == protowire.BytesType {
			return nil // metadata (MetricMetadata), checked by the metadata tests
		}
		if num != 1 || typ != protowire.BytesType {
			return fmt.Errorf("WriteRequest: unexpected field %d type %d", num, typ)
		}
		ts, err := decodeTimeSeries(val)
		if err != nil {
			return err
		}
		out = append(out, ts)
		return nil
	})
	return out, err
}

func decodeTimeSeries(b []byte) (wireSeries, error) {
	var ts wireSeries
	err := eachField(b, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return fmt.Errorf("TimeSeries: field %d has wire type %d", num, typ)
		}
		switch num {
		case 1:
			var l wireLabel
			err := eachField(val, func(n protowire.Number, ty protowire.Type, s []byte, _ uint64) error {
				if ty != protowire.BytesType || (n != 1 && n != 2) {
					return fmt.Errorf("Label: unexpected field %d type %d", n, ty)
				}
				if n == 1 {
					l.Name = string(s)
				} else {
					l.Value = string(s)
				}
				return nil
			})
			ts.Labels = append(ts.Labels, l)
			return err
		case 2:
			var s wireSample
			err := eachField(val, func(n protowire.Number, ty protowire.Type, _ []byte, x uint64) error {
				switch {
				case n == 1 && ty == protowire.Fixed64Type:
					s.Bits = x
				case n == 2 && ty == protowire.VarintType:
					s.TS = int64(x)
				default:
					return fmt.Errorf("Sample: unexpected field %d type %d", n, ty)
				}
				return nil
			})
			ts.Samples = append(ts.Samples, s)
			return err
		case 3:
			ex, err := decodeExemplar(val)
			ts.Exemplars = append(ts.Exemplars, ex)
			return err
		}
		return fmt.Errorf("TimeSeries: unexpected field %d", num)
	})
	return ts, err
}

// decodeExemplar decodes Exemplar{repeated Label labels = 1; double value = 2;
// int64 timestamp = 3}.
func decodeExemplar(b []byte) (wireExemplar, error) {
	var ex wireExemplar
	err := eachField(b, func(num protowire.Number, typ protowire.Type, val []byte, x uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			var l wireLabel
			err := eachField(val, func(n protowire.Number, ty protowire.Type, s []byte, _ uint64) error {
				switch {
				case n == 1 && ty == protowire.BytesType:
					l.Name = string(s)
				case n == 2 && ty == protowire.BytesType:
					l.Value = string(s)
				default:
					return fmt.Errorf("Exemplar label: unexpected field %d type %d", n, ty)
				}
				return nil
			})
			ex.Labels = append(ex.Labels, l)
			return err
		case num == 2 && typ == protowire.Fixed64Type:
			ex.Bits = x
		case num == 3 && typ == protowire.VarintType:
			ex.TS = int64(x)
		default:
			return fmt.Errorf("Exemplar: unexpected field %d type %d", num, typ)
		}
		return nil
	})
	return ex, err
}

// eachField walks one message's fields; val is set for bytes fields, x for
// varint and fixed64 fields.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, val []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var val []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			val, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		default:
			return fmt.Errorf("unexpected wire type %d", typ)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(num, typ, val, x); err != nil {
			return err
		}
	}
	return nil
}
