package scrape

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// ptGenFamilies builds a deterministic exposition of about `series` series:
// 60% counter, 30% gauge and 10% histogram series (10 buckets each), 3 to 6
// labels per series, 100 series per family. Values and label values include
// escapes, NaN and infinities so every encoder path is exercised.
func ptGenFamilies(series int, seed uint64) []*dto.MetricFamily {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	const perFamily = 100
	labelNames := []string{"host", "service", "code", "method", "path", "zone"}
	bounds := []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
	val := func(i int) float64 {
		switch i % 97 {
		case 7:
			return math.NaN()
		case 13:
			return math.Inf(1)
		case 29:
			return -1.5e-7
		}
		return math.Round(rng.Float64()*1e6) / 100
	}
	var fams []*dto.MetricFamily
	for f := 0; f*perFamily < series; f++ {
		var typ dto.MetricType
		switch f % 10 {
		case 0, 1, 2, 3, 4, 5:
			typ = dto.MetricType_COUNTER
		case 6, 7, 8:
			typ = dto.MetricType_GAUGE
		default:
			typ = dto.MetricType_HISTOGRAM
		}
		name := fmt.Sprintf("app_metric_%d", f)
		if typ == dto.MetricType_COUNTER {
			name += "_total"
		}
		mf := &dto.MetricFamily{
			Name: proto.String(name),
			Help: proto.String(fmt.Sprintf("Metric %d with \\ and\nnewline.", f)),
			Type: typ.Enum(),
		}
		nl := 3 + f%4
		for s := 0; s < perFamily && f*perFamily+s < series; s++ {
			m := &dto.Metric{}
			for l := 0; l < nl; l++ {
				v := fmt.Sprintf("%s-%d", labelNames[l], (s*(l+3))%(17+l))
				if l == 0 {
					v = fmt.Sprintf("host-%d.example.com:9100", s)
				}
				if s%31 == 0 && l == 1 {
					v = `quote"back\slash` + "\nnl"
				}
				m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(labelNames[l]), Value: proto.String(v)})
			}
			if s%50 == 3 {
				m.TimestampMs = proto.Int64(1_700_000_000_000 + int64(s))
			}
			switch typ {
			case dto.MetricType_COUNTER:
				m.Counter = &dto.Counter{Value: proto.Float64(math.Abs(val(s)))}
			case dto.MetricType_GAUGE:
				m.Gauge = &dto.Gauge{Value: proto.Float64(val(s))}
			default:
				h := &dto.Histogram{SampleSum: proto.Float64(val(s))}
				var cum uint64
				for _, b := range bounds {
					cum += uint64(rng.IntN(100))
					h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: proto.Float64(b), CumulativeCount: proto.Uint64(cum)})
				}
				h.SampleCount = proto.Uint64(cum + uint64(rng.IntN(10)))
				m.Histogram = h
			}
			mf.Metric = append(mf.Metric, m)
		}
		fams = append(fams, mf)
	}
	return fams
}

// ptEncode renders families in one of the three formats with the reference
// encoders of prometheus/common.
func ptEncode(tb testing.TB, fams []*dto.MetricFamily, f Format) []byte {
	tb.Helper()
	var buf bytes.Buffer
	var err error
	for _, mf := range fams {
		switch f {
		case FormatText:
			_, err = expfmt.MetricFamilyToText(&buf, mf)
		case FormatOpenMetrics:
			_, err = expfmt.MetricFamilyToOpenMetrics(&buf, mf)
		case FormatProtobuf:
			enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeProtoDelim))
			err = enc.Encode(mf)
		}
		if err != nil {
			tb.Fatalf("encode %s: %v", f, err)
		}
	}
	if f == FormatOpenMetrics {
		if _, err := expfmt.FinalizeOpenMetrics(&buf); err != nil {
			tb.Fatal(err)
		}
	}
	return buf.Bytes()
}
