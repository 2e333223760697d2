package scrape

import (
	"math"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// parseProtobuf decodes length-delimited io.prometheus.client.MetricFamily
// messages (the protodelim framing: a varint length, then the message) into
// samples shaped like the text parser's: counters, gauges and untyped as one
// sample; summaries as quantiles, _sum and _count; classic histograms as
// buckets (with +Inf added when missing), _sum and _count; gauge histograms
// with OpenMetrics' _gsum and _gcount. Native (sparse) buckets are not
// forwarded: a native histogram is converted as Prometheus converts it with
// native histograms off (its classic buckets, if any, and always
// le="+Inf" = count, _sum and _count). Metric timestamps are honoured;
// created timestamps are dropped, and so are exemplars unless
// ParseOptions.Exemplars asks for those of counters and classic buckets
// (Prometheus' protobuf parser reads no others with native histograms off).
func (p *Parser) parseProtobuf(body []byte) error {
	for p.line = 1; len(body) > 0; p.line++ {
		n, w := protowire.ConsumeVarint(body)
		if w < 0 {
			return p.errorf("invalid message length prefix")
		}
		body = body[w:]
		if n > uint64(len(body)) {
			return p.errorf("message length %d exceeds the %d bytes left", n, len(body))
		}
		mf := &dto.MetricFamily{}
		if err := proto.Unmarshal(body[:n], mf); err != nil {
			return p.errorf("decode MetricFamily: %v", err)
		}
		body = body[n:]
		if err := p.convertFamily(mf); err != nil {
			return err
		}
	}
	return nil
}

// pbNames are the sample names of one protobuf family, built once per family.
type pbNames struct {
	bucket, sum, count string
}

func (p *Parser) suffixed(name, suffix string) string {
	p.scratch = append(append(p.scratch[:0], name...), suffix...)
	s, _ := p.strs.bytes(p.scratch) // name is valid UTF-8, suffix ASCII
	return s
}

func (p *Parser) convertFamily(mf *dto.MetricFamily) error {
	if mf.GetName() == "" {
		return p.errorf("metric family without name")
	}
	name, ok := p.strs.string(mf.GetName())
	if !ok {
		return p.errorf("invalid UTF-8 in metric name")
	}
	p.newFamily(name)
	f := &p.fam
	f.help = append(f.help[:0], mf.GetHelp()...)
	if f.unit, ok = p.strs.string(mf.GetUnit()); !ok {
		return p.errorf("invalid UTF-8 in unit of %q", name)
	}
	var names pbNames
	switch mf.GetType() {
	case dto.MetricType_COUNTER:
		f.typ = TypeCounter
	case dto.MetricType_GAUGE:
		f.typ = TypeGauge
	case dto.MetricType_SUMMARY:
		f.typ = TypeSummary
		names = pbNames{sum: p.suffixed(name, "_sum"), count: p.suffixed(name, "_count")}
	case dto.MetricType_HISTOGRAM:
		f.typ = TypeHistogram
		names = pbNames{bucket: p.suffixed(name, "_bucket"), sum: p.suffixed(name, "_sum"), count: p.suffixed(name, "_count")}
	case dto.MetricType_GAUGE_HISTOGRAM:
		f.typ = TypeGaugeHistogram
		names = pbNames{bucket: p.suffixed(name, "_bucket"), sum: p.suffixed(name, "_gsum"), count: p.suffixed(name, "_gcount")}
	case dto.MetricType_UNTYPED:
		f.typ = TypeUnknown
	default:
		return p.errorf("unknown metric type %d for %q", mf.GetType(), name)
	}
	for _, m := range mf.GetMetric() {
		if err := p.convertMetric(mf.GetType(), name, &names, m); err != nil {
			return err
		}
	}
	return nil
}

func (p *Parser) convertMetric(typ dto.MetricType, name string, names *pbNames, m *dto.Metric) error {
	ts, explicit := p.opt.NowMs, false
	if m.TimestampMs != nil {
		ts, explicit = m.GetTimestampMs(), true
	}
	p.pbBase = p.pbBase[:0]
	for _, lp := range m.GetLabel() {
		if lp.GetName() == "" {
			return p.errorf("empty label name in %q", name)
		}
		ln, ok1 := p.syms.string(lp.GetName())
		lv, ok2 := p.syms.string(lp.GetValue())
		if !ok1 || !ok2 {
			return p.errorf("invalid UTF-8 in label of %q", name)
		}
		p.pbBase = append(p.pbBase, Label{Name: ln, Value: lv})
	}
	// one emits a sample with the metric's labels plus an optional le or
	// quantile label.
	one := func(sname string, kind Kind, v float64, extra string, bound float64) error {
		p.lbuf = append(p.lbuf[:0], p.pbBase...)
		if extra != "" {
			p.scratch = appendOMFloat(p.scratch[:0], bound)
			bv, _ := p.strs.bytes(p.scratch) // ASCII
			p.lbuf = append(p.lbuf, Label{Name: extra, Value: bv})
		}
		return p.emit(sname, kind, v, ts, explicit)
	}
	// withEx is one for a sample that may carry an exemplar.
	withEx := func(sname string, kind Kind, v float64, extra string, bound float64, ex *dto.Exemplar) error {
		n := len(p.out)
		if err := one(sname, kind, v, extra, bound); err != nil {
			return err
		}
		if ex != nil && p.opt.Exemplars && len(p.out) > n {
			if e, ok := pbExemplar(ex); ok {
				p.attachExemplar(e)
			}
		}
		return nil
	}
	switch typ {
	case dto.MetricType_COUNTER:
		if m.Counter == nil {
			return p.errorf("counter %q without counter value", name)
		}
		return withEx(name, KindCounter, m.Counter.GetValue(), "", 0, m.Counter.GetExemplar())
	case dto.MetricType_GAUGE:
		if m.Gauge == nil {
			return p.errorf("gauge %q without gauge value", name)
		}
		return one(name, KindGauge, m.Gauge.GetValue(), "", 0)
	case dto.MetricType_UNTYPED:
		if m.Untyped == nil {
			return p.errorf("untyped %q without untyped value", name)
		}
		return one(name, KindUntyped, m.Untyped.GetValue(), "", 0)
	case dto.MetricType_SUMMARY:
		s := m.GetSummary()
		if s == nil {
			return p.errorf("summary %q without summary value", name)
		}
		for _, q := range s.GetQuantile() {
			if err := one(name, KindSummaryQuantile, q.GetValue(), "quantile", q.GetQuantile()); err != nil {
				return err
			}
		}
		if err := one(names.sum, KindSummarySum, s.GetSampleSum(), "", 0); err != nil {
			return err
		}
		return one(names.count, KindSummaryCount, float64(s.GetSampleCount()), "", 0)
	}
	h := m.GetHistogram()
	if h == nil {
		return p.errorf("histogram %q without histogram value", name)
	}
	// Classic buckets plus le="+Inf" from the count when they lack it, as
	// Prometheus' protobuf parser yields them with native histograms off:
	// a native-only histogram becomes _bucket{le="+Inf"}, _sum and _count,
	// never _sum and _count alone. Float counts win when set, as there.
	count := h.GetSampleCountFloat()
	if count == 0 {
		count = float64(h.GetSampleCount())
	}
	sawInf := false
	for _, b := range h.GetBucket() {
		v := b.GetCumulativeCountFloat()
		if v == 0 {
			v = float64(b.GetCumulativeCount())
		}
		sawInf = sawInf || math.IsInf(b.GetUpperBound(), 1)
		if err := withEx(names.bucket, KindHistogramBucket, v, "le", b.GetUpperBound(), b.GetExemplar()); err != nil {
			return err
		}
	}
	if !sawInf {
		if err := one(names.bucket, KindHistogramBucket, count, "le", math.Inf(1)); err != nil {
			return err
		}
	}
	if err := one(names.sum, KindHistogramSum, h.GetSampleSum(), "", 0); err != nil {
		return err
	}
	return one(names.count, KindHistogramCount, count, "", 0)
}

// pbExemplar converts a protobuf exemplar; ok is false when Prometheus'
// exemplar storage would refuse it (labels over 128 runes, a repeated or
// empty name, invalid UTF-8).
func pbExemplar(ex *dto.Exemplar) (Exemplar, bool) {
	e := Exemplar{Value: ex.GetValue()}
	if t := ex.GetTimestamp(); t != nil {
		e.TimestampMs = t.GetSeconds()*1000 + int64(t.GetNanos())/1_000_000
		e.HasTimestamp = true
	}
	runes := 0
	for _, lp := range ex.GetLabel() {
		n, v := lp.GetName(), lp.GetValue()
		if n == "" || !utf8.ValidString(n) || !utf8.ValidString(v) {
			return Exemplar{}, false
		}
		runes += utf8.RuneCountInString(n) + utf8.RuneCountInString(v)
		if v != "" {
			e.Labels = append(e.Labels, Label{Name: n, Value: v})
		}
	}
	if runes > maxExemplarRunes {
		return Exemplar{}, false
	}
	sortLabels(e.Labels)
	for i := 1; i < len(e.Labels); i++ {
		if e.Labels[i].Name == e.Labels[i-1].Name {
			return Exemplar{}, false
		}
	}
	return e, true
}
