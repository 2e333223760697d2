package aggregate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Rule is one aggregation rule of a sink (the `aggregate:` list), in the
// config file's shape. Compile checks it.
type Rule struct {
	// Match is a Prometheus series selector; a sample matches on its own
	// name (h_bucket, h_sum) and labels. A histogram goes whole: a rule
	// that matches a _bucket series also takes the _sum and _count series
	// of that histogram with the same labels.
	Match string `yaml:"match"`
	// Interval is the window length; windows are aligned to the wall clock
	// (multiples of Interval since the Unix epoch) by sample timestamp.
	Interval time.Duration `yaml:"interval"`
	// By keeps only these labels (plus le and quantile); Without drops these.
	By      []string `yaml:"by,omitempty"`
	Without []string `yaml:"without,omitempty"`
	// Outputs: total, increase, rate_sum, rate_avg, sum (or sum_samples),
	// count_samples, count_series, min, max, avg, last, quantiles(φ, …).
	Outputs []string `yaml:"outputs"`
	// KeepInput also forwards the matched raw series to the sink.
	KeepInput bool `yaml:"keep_input,omitempty"`
	// KeepMetricNames names the output like its input (one output only).
	KeepMetricNames bool `yaml:"keep_metric_names,omitempty"`
	// MaxLateness is how long after its end a window still takes samples;
	// it is flushed then. Default: the longest interval of the sink's
	// sources.
	MaxLateness time.Duration `yaml:"max_lateness,omitempty"`
	// MaxOutputSeries bounds the rule's output series (groups × outputs).
	MaxOutputSeries int `yaml:"max_output_series,omitempty"`
}

// DefaultMaxOutputSeries is max_output_series when unset.
const DefaultMaxOutputSeries = 100_000

// Output kinds.
type outKind uint8

const (
	outTotal outKind = iota
	outIncrease
	outRateSum
	outSumSamples
	outCountSamples
	outCountSeries
	outMin
	outMax
	outAvg
	outLast
	outQuantiles
	outRateAvg
)

var outNames = map[string]outKind{
	"total": outTotal, "increase": outIncrease, "rate_sum": outRateSum, "rate_avg": outRateAvg,
	"sum": outSumSamples, "sum_samples": outSumSamples, "count_samples": outCountSamples,
	"count_series": outCountSeries, "min": outMin, "max": outMax, "avg": outAvg, "last": outLast,
}

// suffix is the vmagent output suffix.
func (k outKind) suffix() string {
	return [...]string{"total", "increase", "rate_sum", "sum_samples", "count_samples",
		"count_series", "min", "max", "avg", "last", "quantiles", "rate_avg"}[k]
}

// sums reports whether the output adds values of different series or
// samples, which is meaningless for a summary's quantiles.
func (k outKind) sums() bool {
	switch k {
	case outTotal, outIncrease, outRateSum, outRateAvg, outSumSamples, outAvg:
		return true
	}
	return false
}

// counterLike outputs track per-series counter baselines.
func (k outKind) counterLike() bool {
	return k == outTotal || k == outIncrease || k == outRateSum || k == outRateAvg
}

type output struct {
	kind outKind
	phis []float64 // quantiles
	phiS []string  // quantile label values
}

// compiled is a checked Rule.
type compiled struct {
	Rule
	sel     *Selector
	outs    []output
	by      []string // sorted, deduplicated
	without []string
	suffix  string // ":1m_without_instance_pod_"
	counter bool   // some output needs counter baselines
}

// Compile checks a rule; errors name the offending key's value.
func Compile(r Rule) error {
	_, err := compile(r)
	return err
}

// ErrField is an error about one key of a rule (config positions it).
type ErrField struct {
	Key string
	Err error
}

func (e *ErrField) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *ErrField) Unwrap() error { return e.Err }

func fieldErr(key, format string, a ...any) error {
	return &ErrField{Key: key, Err: fmt.Errorf(format, a...)}
}

func compile(r Rule) (*compiled, error) {
	c := &compiled{Rule: r}
	if r.Match == "" {
		return nil, fieldErr("match", "required: a series selector such as '{__name__=~\"scalr_.*\"}'")
	}
	sel, err := ParseSelector(r.Match)
	if err != nil {
		return nil, fieldErr("match", "%v", err)
	}
	c.sel = sel
	if r.Interval < time.Second || r.Interval%time.Second != 0 {
		return nil, fieldErr("interval", "must be a whole number of seconds, at least 1s, got %s", r.Interval)
	}
	if len(r.By) > 0 && len(r.Without) > 0 {
		return nil, fieldErr("by", "use by or without, not both")
	}
	c.by, c.without = sortedSet(r.By), sortedSet(r.Without)
	for _, l := range append(slices.Clone(c.by), c.without...) {
		if l == "__name__" {
			return nil, fieldErr("by", "__name__ is always kept; it cannot be listed")
		}
	}
	if len(r.Outputs) == 0 {
		return nil, fieldErr("outputs", "at least one output is required")
	}
	seen := map[outKind]bool{}
	for _, o := range JoinOutputs(r.Outputs) {
		out, err := parseOutput(o)
		if err != nil {
			return nil, fieldErr("outputs", "%v", err)
		}
		if seen[out.kind] {
			return nil, fieldErr("outputs", "output %q listed twice", o)
		}
		seen[out.kind] = true
		c.counter = c.counter || out.kind.counterLike()
		if out.kind.sums() && sumsQuantiles(c) {
			return nil, fieldErr("outputs", "output %s would add up a summary's quantiles (the rule selects on or groups by the quantile label); use min, max, last or count_* for them", o)
		}
		c.outs = append(c.outs, out)
	}
	if r.KeepMetricNames && len(c.outs) != 1 {
		return nil, fieldErr("keep_metric_names", "needs exactly one output, got %d", len(c.outs))
	}
	if r.MaxLateness < 0 {
		return nil, fieldErr("max_lateness", "must not be negative")
	}
	if r.MaxOutputSeries < 0 {
		return nil, fieldErr("max_output_series", "must not be negative")
	}
	if c.MaxOutputSeries == 0 {
		c.MaxOutputSeries = DefaultMaxOutputSeries
	}
	c.suffix = ":" + FormatInterval(r.Interval)
	if len(c.by) > 0 {
		c.suffix += "_by_" + strings.Join(c.by, "_")
	}
	if len(c.without) > 0 {
		c.suffix += "_without_" + strings.Join(c.without, "_")
	}
	c.suffix += "_"
	return c, nil
}

// sumsQuantiles: does the rule evidently aim at summary quantile series?
// (Types are unknown at config time; at run time summary quantile samples
// never feed adding outputs, see Aggregator.)
func sumsQuantiles(c *compiled) bool {
	return c.sel.HasLabelMatcher("quantile") || slices.Contains(c.by, "quantile")
}

// JoinOutputs rejoins `quantiles(0.5, 0.99)` that a YAML flow list
// ([total, quantiles(0.5, 0.99)]) split at its commas.
func JoinOutputs(in []string) []string {
	var out []string
	for i := 0; i < len(in); i++ {
		o := strings.TrimSpace(in[i])
		if strings.HasPrefix(o, "quantiles(") {
			for !strings.HasSuffix(o, ")") && i+1 < len(in) {
				i++
				o += ", " + strings.TrimSpace(in[i])
			}
		}
		out = append(out, o)
	}
	return out
}

func parseOutput(s string) (output, error) {
	s = strings.TrimSpace(s)
	if k, ok := outNames[s]; ok {
		return output{kind: k}, nil
	}
	if strings.HasPrefix(s, "quantiles(") && strings.HasSuffix(s, ")") {
		args := strings.Split(s[len("quantiles("):len(s)-1], ",")
		out := output{kind: outQuantiles}
		for _, a := range args {
			a = strings.TrimSpace(a)
			phi, err := strconv.ParseFloat(a, 64)
			if err != nil || phi < 0 || phi > 1 {
				return out, fmt.Errorf("quantile %q: want a number from 0 to 1", a)
			}
			out.phis = append(out.phis, phi)
			out.phiS = append(out.phiS, strconv.FormatFloat(phi, 'g', -1, 64))
		}
		return out, nil
	}
	return output{}, fmt.Errorf("unknown output %q (known: total, increase, rate_sum, rate_avg, sum, sum_samples, count_samples, count_series, min, max, avg, last, quantiles(0.5, …))", s)
}

func sortedSet(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// FormatInterval renders d as vmagent does in output names: 1m, 30s, 1h, 90s.
func FormatInterval(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	default:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
}

// OutputNames lists the names a rule's outputs take for an input metric
// name (`<name>:<interval>[_by_…|_without_…]_<output>`); `check` prints
// them with "<name>" as the input name.
func OutputNames(r Rule, input string) ([]string, error) {
	c, err := compile(r)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(c.outs))
	for i := range c.outs {
		out[i] = c.outName(input, i)
	}
	return out, nil
}

func (c *compiled) outName(input string, i int) string {
	if c.KeepMetricNames {
		return input
	}
	return input + c.suffix + c.outs[i].kind.suffix()
}
