package discovery

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	promdisc "github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"go.uber.org/zap"
)

// Options are a Set's dependencies.
type Options struct {
	Logger  *zap.Logger // scoped to the source
	Metrics *Metrics
	Clock   clockwork.Clock // nil: real clock (the failure log gate)
	// LogEvery is how often a failing discoverer may log again
	// (DefaultLogEvery if not positive).
	LogEvery time.Duration
	// DNS is where dns_sd_configs send their queries; nil reads
	// /etc/resolv.conf at every refresh, as Prometheus does. Tests point it
	// at a local server.
	DNS *DNSClientConfig
}

// Set runs the discoverers of one source. Its groups are the union of the
// last groups each discoverer sent, by group source: a discoverer that
// fails sends nothing, so its targets stay as they were.
type Set struct {
	name    string
	mechs   []string
	metrics *Metrics
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	changed chan struct{} // size one: "the groups changed since you last looked"

	mu      sync.Mutex
	groups  []map[string]*targetgroup.Group // per discoverer, by group source
	seen    []bool                          // per discoverer: sent at least once
	reports int                             // updates received, changed or not
}

// Start starts a discoverer per config. name identifies the set in
// Prometheus' metrics (the "config" label) and is the source's name. It
// fails, starting nothing, when a discoverer cannot be built.
func Start(ctx context.Context, name string, cfgs []promdisc.Config, o Options) (*Set, error) {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.LogEvery <= 0 {
		o.LogEvery = DefaultLogEvery
	}
	if o.Metrics == nil {
		return nil, fmt.Errorf("discovery %s: no metrics", name)
	}
	s := &Set{name: name, metrics: o.Metrics, changed: make(chan struct{}, 1),
		groups: make([]map[string]*targetgroup.Group, len(cfgs)), seen: make([]bool, len(cfgs))}
	type run struct {
		d    promdisc.Discoverer
		g    *gate
		log  *zap.Logger
		mech string
	}
	runs := make([]run, 0, len(cfgs))
	for i, c := range cfgs {
		c = o.wrap(c)
		m, err := o.Metrics.forConfig(c)
		if err != nil {
			return nil, fmt.Errorf("discovery %s: %w", name, err)
		}
		mech := c.Name() + "_sd"
		log := o.Logger.With(zap.String("discovery", mech), zap.Int("config", i))
		g := &gate{clock: o.Clock, every: o.LogEvery}
		d, err := c.NewDiscoverer(promdisc.DiscovererOptions{
			Logger:  slog.New(&zapHandler{log: log, gate: g}),
			Metrics: m,
			SetName: name,
		})
		if err != nil {
			return nil, fmt.Errorf("discovery %s: %s_sd_configs[%d]: %w", name, c.Name(), i, err)
		}
		runs = append(runs, run{d, g, log, mech})
		s.groups[i] = map[string]*targetgroup.Group{}
		if !slices.Contains(s.mechs, c.Name()) {
			s.mechs = append(s.mechs, c.Name())
		}
	}
	ctx, s.cancel = context.WithCancel(ctx)
	for i, r := range runs {
		ch := make(chan []*targetgroup.Group)
		// Run ends when ctx does; Stop does not wait for it: Prometheus'
		// consul discoverer, for one, notices only after its retry sleep
		// (15s) or its refresh tick, and a reload or shutdown must not
		// wait for that. It sends nothing after ctx ends (its sends select
		// on ctx too).
		go r.d.Run(ctx, ch)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.receive(ctx, i, ch, r.g, r.log)
		}()
	}
	return s, nil
}

// receive merges what discoverer i sends until ctx ends.
func (s *Set) receive(ctx context.Context, i int, ch <-chan []*targetgroup.Group, g *gate, log *zap.Logger) {
	for {
		var tgs []*targetgroup.Group
		var ok bool
		select {
		case <-ctx.Done():
			return
		case tgs, ok = <-ch:
			if !ok {
				return // a static discoverer closes its channel; its groups stay
			}
		}
		if g.success() {
			log.Info("discovery working again")
		}
		if s.merge(i, tgs) {
			select {
			case s.changed <- struct{}{}:
			default: // already signalled, not yet looked at
			}
		}
	}
}

// merge applies one update of discoverer i: a group with targets replaces
// the one of the same source, an empty one removes it. It reports whether
// anything changed.
func (s *Set) merge(i int, tgs []*targetgroup.Group) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports++
	m := s.groups[i]
	changed := !s.seen[i] // a first report counts, even an empty one (Ready)
	s.seen[i] = true
	for _, tg := range tgs {
		if tg == nil {
			continue
		}
		old, had := m[tg.Source]
		if len(tg.Targets) == 0 {
			if had {
				delete(m, tg.Source)
				changed = true
			}
			continue
		}
		if !had || !reflect.DeepEqual(old, tg) {
			m[tg.Source] = tg
			changed = true
		}
	}
	return changed
}

// Changed receives a value when the groups changed since Groups was last
// called (coalesced: several changes may give one value).
func (s *Set) Changed() <-chan struct{} { return s.changed }

// Groups is the current union of every discoverer's groups, in discoverer
// order, then by group source, so target names are stable.
func (s *Set) Groups() []*targetgroup.Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*targetgroup.Group
	for _, m := range s.groups {
		keys := slices.SortedFunc(maps.Keys(m), cmp.Compare[string])
		for _, k := range keys {
			out = append(out, m[k])
		}
	}
	return out
}

// Poke signals Changed, so that whoever reads it next looks at Groups.
func (s *Set) Poke() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// Ready reports whether every discoverer has sent its first groups.
func (s *Set) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ok := range s.seen {
		if !ok {
			return false
		}
	}
	return true
}

// Reports is how many updates the discoverers sent so far, changed or not
// (tests wait on it).
func (s *Set) Reports() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reports
}

// Stop ends every discoverer and waits until nothing more is merged. The set's refresh metric
// series are deleted (Forget) by the owner when the source is gone for
// good, not on a reload that restarts it.
func (s *Set) Stop() {
	s.cancel()
	s.wg.Wait()
}

// Forget deletes the set's refresh metric series.
func (s *Set) Forget() {
	for _, m := range s.mechs {
		s.metrics.forget(m, s.name)
	}
}
