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
// marks a _created sample; ok=false means the name is not of this family.
func (p *Parser) classify(name string) (kind Kind, skip, ok bool) {
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
		// The family's type changed since the line was cached: parse
		// its labels after all (the result replaces the entry).
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
	switch kind {
	case KindHistogramBucket:
		if err := p.checkBound("le"); err != nil {
			return err
		}
	case KindSummaryQuantile:
		if err := p.checkBound("quantile"); err != nil {
			return err
		}
	}
	return p.emit(name, kind, v, ts, explicit)
}

// checkBound requires the le or quantile label in p.lbuf to be a float and
// rewrites it in the OpenMetrics form, so "1" and "1.0" are one series.
func (p *Parser) checkBound(label string) error {
	for i := range p.lbuf {
		l := &p.lbuf[i]
		if l.Name != label {
			continue
		}
		f, err := strconv.ParseFloat(l.Value, 64)
		if err != nil {
			return p.errorf("invalid %s value %q for %q", label, l.Value, p.fam.name)
		}
		p.scratch = appendOMFloat(p.scratch[:0], f)
		if string(p.scratch) != l.Value {
			l.Value, _ = p.strs.bytes(p.scratch) // ASCII
		}
		return nil
	}
	return p.errorf("%s sample of %q without %s label", p.fam.typ, p.fam.name, label)
}
