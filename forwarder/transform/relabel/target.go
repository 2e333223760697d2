package relabel

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	promrelabel "github.com/prometheus/prometheus/model/relabel"

	"github.com/promfwd/promfwd/scrape"
)

// SchemeUnix is the __scheme__ of a unix:// source; its __address__ is the
// socket path. Prometheus has no such scheme; promfwd adds it so a Docker
// daemon socket can be relabeled like any target.
const SchemeUnix = "unix"

// TargetDefaults are a source's settings that Prometheus turns into target
// labels before relabel_configs run, when the target does not set them.
type TargetDefaults struct {
	Job         string
	Interval    time.Duration
	Timeout     time.Duration
	Scheme      string
	MetricsPath string
	Params      url.Values
}

// Target is a target after relabel_configs: where to scrape, how often, and
// the labels its samples carry.
type Target struct {
	Scheme   string // http, https or unix
	Address  string // host:port, or the socket path for unix
	Path     string // __metrics_path__
	Params   url.Values
	Interval time.Duration
	Timeout  time.Duration
	// Labels are the target labels samples get: every label not starting
	// with "__", instance defaulting to __address__. Sorted.
	Labels scrape.Labels
	// Discovered are the labels before relabeling (promfwd once shows them).
	Discovered scrape.Labels
}

// URL returns the scrape URL: scheme://address/path?params, or unix://path.
func (t *Target) URL() string {
	if t.Scheme == SchemeUnix {
		return (&url.URL{Scheme: SchemeUnix, Path: t.Address}).String()
	}
	return (&url.URL{Scheme: t.Scheme, Host: t.Address, Path: t.Path, RawQuery: t.Params.Encode()}).String()
}

// PopulateTarget is Prometheus' scrape.PopulateLabels for one target: the
// target's own labels (tl: __address__, __meta_*) win over its group's and
// the source's static labels (gl); job, __scrape_interval__,
// __scrape_timeout__, __metrics_path__, __scheme__ and __param_<name> are
// added from d where missing; then rules run. It returns nil, nil when a
// rule drops the target, and an error when what is left cannot be scraped.
func PopulateTarget(d TargetDefaults, tl, gl map[string]string, rules []*Config) (*Target, error) {
	lb := labels.NewBuilder(labels.EmptyLabels())
	for k, v := range tl {
		lb.Set(k, v)
	}
	for k, v := range gl {
		if _, ok := tl[k]; !ok {
			lb.Set(k, v)
		}
	}
	for _, l := range [...]labels.Label{
		{Name: model.JobLabel, Value: d.Job},
		{Name: model.ScrapeIntervalLabel, Value: model.Duration(d.Interval).String()},
		{Name: model.ScrapeTimeoutLabel, Value: model.Duration(d.Timeout).String()},
		{Name: model.MetricsPathLabel, Value: d.MetricsPath},
		{Name: model.SchemeLabel, Value: d.Scheme},
	} {
		if lb.Get(l.Name) == "" {
			lb.Set(l.Name, l.Value)
		}
	}
	for k, v := range d.Params {
		if name := model.ParamLabelPrefix + k; len(v) > 0 && lb.Get(name) == "" {
			lb.Set(name, v[0])
		}
	}
	discovered := fromBuilder(lb)
	if slices.Contains(rules, nil) { // an empty list item; Validate reports it
		rules = slices.DeleteFunc(slices.Clone(rules), func(c *Config) bool { return c == nil })
	}
	if !promrelabel.ProcessBuilder(lb, rules...) {
		return nil, nil
	}
	t := &Target{Discovered: discovered, Scheme: lb.Get(model.SchemeLabel), Address: lb.Get(model.AddressLabel),
		Path: lb.Get(model.MetricsPathLabel)}
	if t.Address == "" {
		return nil, errors.New("no address")
	}
	switch t.Scheme {
	case "http", "https":
		if strings.Contains(t.Address, "/") {
			return nil, fmt.Errorf("%q is not a valid hostname", t.Address)
		}
	case SchemeUnix:
	default:
		return nil, fmt.Errorf("invalid __scheme__ %q: want http or https", t.Scheme)
	}
	var err error
	if t.Interval, err = parseDuration(lb, model.ScrapeIntervalLabel); err != nil {
		return nil, err
	}
	if t.Timeout, err = parseDuration(lb, model.ScrapeTimeoutLabel); err != nil {
		return nil, err
	}
	if t.Timeout > t.Interval {
		return nil, fmt.Errorf("scrape timeout cannot be greater than scrape interval (%q > %q)",
			lb.Get(model.ScrapeTimeoutLabel), lb.Get(model.ScrapeIntervalLabel))
	}
	t.Params = url.Values{}
	for k, v := range d.Params {
		t.Params[k] = append([]string(nil), v...)
	}
	lb.Range(func(l labels.Label) {
		if k, ok := strings.CutPrefix(l.Name, model.ParamLabelPrefix); ok {
			if len(t.Params[k]) > 0 {
				t.Params[k][0] = l.Value
			} else {
				t.Params[k] = []string{l.Value}
			}
		}
	})
	if lb.Get(model.InstanceLabel) == "" {
		lb.Set(model.InstanceLabel, t.Address)
	}
	lb.Range(func(l labels.Label) {
		if strings.HasPrefix(l.Name, model.ReservedLabelPrefix) {
			lb.Del(l.Name)
		}
	})
	t.Labels = fromBuilder(lb)
	return t, nil
}

func parseDuration(lb *labels.Builder, name string) (time.Duration, error) {
	v := lb.Get(name)
	d, err := model.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("error parsing %s %q: %w", name, v, err)
	}
	if d == 0 {
		return 0, fmt.Errorf("%s cannot be 0", name)
	}
	return time.Duration(d), nil
}

func fromBuilder(lb *labels.Builder) scrape.Labels {
	var out scrape.Labels
	lb.Range(func(l labels.Label) {
		out = append(out, scrape.Label{Name: l.Name, Value: l.Value})
	})
	sortLabels(out)
	return out
}
