package scrape

import "strconv"

// parseType maps a TYPE token to a Type. Text's "untyped" and OpenMetrics'
// "unknown" are the same; both formats accept every token.
func parseType(b []byte) (Type, bool) {
	switch string(b) {
	case "counter":
		return TypeCounter, true
	case "gauge":
		return TypeGauge, true
	case "histogram":
		return TypeHistogram, true
	case "gaugehistogram":
		return TypeGaugeHistogram, true
	case "summary":
		return TypeSummary, true
	case "info":
		return TypeInfo, true
	case "stateset":
		return TypeStateSet, true
	case "untyped", "unknown":
		return TypeUnknown, true
	}
	return TypeUnknown, false
}

// hasSuffixName reports whether name == base + suffix without building it.
func hasSuffixName(name, base, suffix string) bool {
	return len(name) == len(base)+len(suffix) && name[:len(base)] == base && name[len(base):] == suffix
}

// classify says what a sample called name is in the current family. skip
// marks an OpenMetrics _created sample; ok=false means the name is not of
// this family. In the text format, whose grammar has no _created, such a
// sample is kept as an untyped series, as both reference parsers keep it
// (Prometheus ingests it, expfmt makes it an untyped family), without ending
// the family it follows (Python's client writes one after each counter).
func (p *Parser) classify(name string) (kind Kind, skip, ok bool) {
	kind, skip, ok = p.classifyFamily(name)
	if skip && p.format != FormatOpenMetrics {
		return KindUntyped, false, true
	}
	return kind, skip, ok
}

func (p *Parser) classifyFamily(name string) (kind Kind, skip, ok bool) {
	f := &p.fam
	if f.name == "" {
		return 0, false, false
	}
	switch f.typ {
	case TypeCounter:
		base := f.name
		if n := len(base) - len("_total"); n > 0 && base[n:] == "_total" {
			base = base[:n]
		}
		switch {
		case name == f.name, hasSuffixName(name, base, "_total"):
			return KindCounter, false, true
		case hasSuffixName(name, base, "_created"):
			return 0, true, true
		}
	case TypeGauge:
		return KindGauge, false, name == f.name
	case TypeUnknown:
		return KindUntyped, false, name == f.name
	case TypeStateSet:
		return KindStateSet, false, name == f.name
	case TypeInfo:
		return KindInfo, false, name == f.name || hasSuffixName(name, f.name, "_info")
	case TypeHistogram, TypeGaugeHistogram:
		gauge := f.typ == TypeGaugeHistogram
		switch {
		case hasSuffixName(name, f.name, "_bucket"):
			return KindHistogramBucket, false, true
		case hasSuffixName(name, f.name, "_sum"), gauge && hasSuffixName(name, f.name, "_gsum"):
			return KindHistogramSum, false, true
		case hasSuffixName(name, f.name, "_count"), gauge && hasSuffixName(name, f.name, "_gcount"):
			return KindHistogramCount, false, true
		case !gauge && hasSuffixName(name, f.name, "_created"):
			return 0, true, true
		}
	case TypeSummary:
		switch {
		case name == f.name:
			return KindSummaryQuantile, false, true
		case hasSuffixName(name, f.name, "_sum"):
			return KindSummarySum, false, true
		case hasSuffixName(name, f.name, "_count"):
			return KindSummaryCount, false, true
		case hasSuffixName(name, f.name, "_created"):
			return 0, true, true
		}
	}
	return 0, false, false
}

// addSample files a parsed text sample (labels in p.lbuf) under its family,
// starting a new untyped family when the name does not belong to the current
// one, and emits it unless it is a _created sample.
func (p *Parser) addSample(name string, v float64, ts int64, explicit bool) error {
	kind, skip, ok := p.classify(name)
	if !ok {
		p.newFamily(name)
		kind = KindUntyped
	}
	p.fam.samples = true
	if skip {
		return nil
	}
	if p.lc.hit {
		if p.lc.entry.kind == kind {
			return p.emit(name, kind, v, ts, explicit)
		}
		// The family's type changed since the line was cached (or the
		// cached sample was emitted as another kind than its line's:
		// a bucket without le): parse its labels after all.
		p.lc.hit = false
		if p.lc.labelsStart >= 0 {
			given := name // as sampleLine passes it: "" when the name is inside the braces
			if p.lc.labelsStart == 0 {
				given = ""
			}
			if _, _, err := p.readLabels(p.lc.line, p.lc.labelsStart, given, true); err != nil {
				return err
			}
		}
	}
	out := kind
	switch kind {
	case KindHistogramBucket:
		if !p.checkBound("le") {
			out = KindUntyped
		}
	case KindSummaryQuantile:
		if !p.checkBound("quantile") {
			out = KindUntyped
		}
	}
	return p.emit(name, out, v, ts, explicit)
}

// checkBound rewrites the le or quantile label in p.lbuf in the OpenMetrics
// float form, so "1" and "1.0" are one series, as Prometheus does. It
// reports false when the label is missing or not a number: Prometheus then
// ingests the sample as a plain series, labels as written, and so does
// promfwd, as an untyped sample (a bucket without a bound is no bucket).
func (p *Parser) checkBound(label string) bool {
	for i := range p.lbuf {
		l := &p.lbuf[i]
		if l.Name != label {
			continue
		}
		// strconv, not parseNumber: Prometheus normalises label values
		// with Go's syntax.
		f, err := strconv.ParseFloat(l.Value, 64)
		if err != nil {
			return false
		}
		p.scratch = appendOMFloat(p.scratch[:0], f)
		if string(p.scratch) != l.Value {
			l.Value, _ = p.strs.bytes(p.scratch) // ASCII
		}
		return true
	}
	return false
}
