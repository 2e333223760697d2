// Package scrape owns the normalized event model (Sample, Labels, Kind), the
// scrape targets (http, https, unix://) with their auth, TLS and limits, and
// the parsing of Prometheus text, OpenMetrics text and protobuf expositions
// into samples. It imports nothing else of promfwd.
package scrape

import "math"

// Kind says what role a sample plays in its metric family.
type Kind uint8

// Sample kinds. Histogram and summary families expand into several kinds; a
// gauge histogram uses the histogram kinds with Meta.Type == TypeGaugeHistogram.
const (
	KindUntyped Kind = iota
	KindCounter
	KindGauge
	KindHistogramBucket
	KindHistogramSum
	KindHistogramCount
	KindSummaryQuantile
	KindSummarySum
	KindSummaryCount
	KindInfo
	KindStateSet
	// KindDelta is an interval count made by promfwd's aggregation
	// (increase, count_samples, count_series over one window): Datadog gets
	// it as a count point as is, dedupe never skips it.
	KindDelta
)

var kindNames = [...]string{
	KindUntyped:         "untyped",
	KindCounter:         "counter",
	KindGauge:           "gauge",
	KindHistogramBucket: "histogram_bucket",
	KindHistogramSum:    "histogram_sum",
	KindHistogramCount:  "histogram_count",
	KindSummaryQuantile: "summary_quantile",
	KindSummarySum:      "summary_sum",
	KindSummaryCount:    "summary_count",
	KindInfo:            "info",
	KindStateSet:        "stateset",
	KindDelta:           "delta",
}

// String returns the kind's stable lower-case name (used in JSON output).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// IsCumulative reports whether the sample's value only grows between resets
// (counters, histogram/summary _count and _sum, histogram buckets), which is
// what delta-based sinks need to know.
func (k Kind) IsCumulative() bool {
	switch k {
	case KindCounter, KindHistogramBucket, KindHistogramSum, KindHistogramCount, KindSummarySum, KindSummaryCount:
		return true
	}
	return false
}

// Type is a metric family's declared type (# TYPE).
type Type uint8

// Family types as declared by the exposition.
const (
	TypeUnknown Type = iota
	TypeCounter
	TypeGauge
	TypeHistogram
	TypeGaugeHistogram
	TypeSummary
	TypeInfo
	TypeStateSet
)

var typeNames = [...]string{"unknown", "counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

// Meta is shared by every sample of one metric family in one scrape. Samples
// point at it, so help and unit text is stored once per family, not per sample.
type Meta struct {
	Family string // family name as declared (# TYPE name), e.g. "http_requests" in OpenMetrics
	Type   Type
	Help   string
	Unit   string
	// Exemplars holds the exemplars of this family's samples in one scrape
	// (Sample.ExemplarRef indexes it). Only a scrape that keeps exemplars
	// (ParseOptions.Exemplars) fills it, and a Meta with exemplars is
	// never reused by a later scrape.
	Exemplars []Exemplar
	// WindowSec is, for promfwd's aggregation outputs, the window length in
	// seconds (a Datadog count's interval); 0 for scraped families.
	WindowSec int64
}

// Exemplar is an OpenMetrics or protobuf exemplar: a sampled event (say a
// trace id) that contributed to its sample's value.
type Exemplar struct {
	Labels Labels // sorted, unique names; not interned
	Value  float64
	// TimestampMs is the exemplar's own timestamp when HasTimestamp;
	// otherwise it is zero and the exemplar takes its sample's timestamp,
	// as Prometheus' scrape loop gives it.
	TimestampMs  int64
	HasTimestamp bool
}

// Label is one name/value pair. __name__ is never stored in Labels.
type Label struct {
	Name, Value string
}

// Labels is sorted by Name, byte-wise, with unique names.
type Labels []Label

// Get returns the value of the named label, or "".
func (ls Labels) Get(name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// String renders labels as {a="1",b="2"} for logs and tests.
func (ls Labels) String() string { return SetOf(ls).String() }

// Sample is one data point with its full identity.
type Sample struct {
	Name        string   // full sample name, e.g. "http_request_duration_seconds_bucket"
	Labels      LabelSet // sorted, without __name__
	Value       float64
	TimestampMs int64 // exposition timestamp if present, else scrape time
	Kind        Kind
	ExplicitTS  bool // the exposition carried a timestamp for this sample
	// ExemplarRef is 1 + the index of this sample's exemplar in
	// Meta.Exemplars, 0 for none. It sits in what was padding, so
	// exemplars cost a Sample nothing; read it with Exemplar.
	ExemplarRef uint32
	Meta        *Meta  // family metadata; nil only for samples built by hand in tests
	Hash        uint64 // SeriesHash(Name, Labels), set by the scraper
}

// Exemplar returns the sample's exemplar, or nil when it has none.
func (s *Sample) Exemplar() *Exemplar {
	if s.ExemplarRef == 0 || s.Meta == nil || int(s.ExemplarRef) > len(s.Meta.Exemplars) {
		return nil
	}
	return &s.Meta.Exemplars[s.ExemplarRef-1]
}

// ExemplarTimestamp is the timestamp the exemplar of s is stored under:
// its own, else the sample's (Prometheus' scrape loop does the same).
func (s *Sample) ExemplarTimestamp(e *Exemplar) int64 {
	if e.HasTimestamp {
		return e.TimestampMs
	}
	return s.TimestampMs
}

// SeriesHash is the 64-bit identity of a series, used for dedupe and sharding.
// It is stable across processes and releases (xxhash64 of name and labels).
func SeriesHash(name string, ls Labels) uint64 { return SetOf(ls).SeriesHash(name) }

// StaleNaN is the bit pattern Prometheus uses as a staleness marker.
const StaleNaN uint64 = 0x7ff0000000000002

// IsStaleNaN reports whether v is the Prometheus staleness marker.
func IsStaleNaN(v float64) bool { return math.Float64bits(v) == StaleNaN }

// GroupEnd returns the end (exclusive) of the group that starts at samples[i]:
// the samples of one histogram or summary series (same family, same labels
// apart from le / quantile) that must travel in one sink request. For any other
// kind the group is the single sample. Samples of a group are contiguous in
// exposition order, which every parser in this package preserves.
func GroupEnd(samples []Sample, i int) int {
	s := &samples[i]
	if s.Meta == nil {
		return i + 1
	}
	switch s.Meta.Type {
	case TypeHistogram, TypeGaugeHistogram, TypeSummary:
	default:
		return i + 1
	}
	j := i + 1
	for j < len(samples) && samples[j].Meta == s.Meta && sameGroupLabels(s.Labels, samples[j].Labels) {
		j++
	}
	return j
}

// sameGroupLabels compares label sets ignoring "le" and "quantile".
func sameGroupLabels(a, b LabelSet) bool {
	if same, ok := a.sameButBounds(b); ok {
		return same
	}
	ra, rb := a.reader(), b.reader()
	i, j := 0, 0
	var la, lb Label
	for {
		for ; i < a.Len(); i++ {
			if la = ra.next(); !isBoundName(la.Name) {
				break
			}
		}
		for ; j < b.Len(); j++ {
			if lb = rb.next(); !isBoundName(lb.Name) {
				break
			}
		}
		if i == a.Len() || j == b.Len() {
			return i == a.Len() && j == b.Len()
		}
		if la != lb {
			return false
		}
		i++
		j++
	}
}

func isBoundName(n string) bool { return n == "le" || n == "quantile" }
