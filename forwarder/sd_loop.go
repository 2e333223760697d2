package forwarder

import (
	"context"
	"reflect"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/forwarder/discovery"
)

// DefaultSDUpdateEvery is how long discovered changes are gathered before
// they are applied, as Prometheus' discovery manager does (5s): a rollout
// of many pods is one re-expansion of the targets, not one per pod.
const DefaultSDUpdateEvery = 5 * time.Second

func sdUpdateEvery(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultSDUpdateEvery
	case d < 0:
		return 0
	}
	return d
}

// runSDLocked starts r's discoverers (unless a predecessor handed them
// over) and its loop: re-read the files every file_sd refresh_interval,
// apply the discoverers' changes at most every SDUpdateEvery. Both end when
// r is retired.
func (f *Forwarder) runSDLocked(r *sdRunner) {
	if f.sdClosing {
		return // shutting down: a late reload starts no loop
	}
	ctx, cancel := context.WithCancel(f.life)
	r.cancel = cancel
	if cfgs := r.src.Discoverers(); r.set == nil && len(cfgs) > 0 {
		set, err := discovery.Start(f.life, r.src.Name, cfgs, f.sdOptions(r))
		if err != nil {
			// The configs passed validation; what fails here is
			// environmental (a kubeconfig that went away): the source's
			// other targets run, this is logged.
			r.log.Error("discovery not started", zap.Error(err))
		}
		r.set = set
	}
	var fileTick <-chan time.Time
	var ticker clockwork.Ticker
	if r.files != nil {
		ticker = f.clock.NewTicker(r.src.MinFileSDRefresh())
		fileTick = ticker.Chan()
	}
	var changed <-chan struct{}
	set := r.set
	if set != nil {
		changed = set.Changed()
	}
	f.sdLoops.Add(1)
	go func() {
		defer f.sdLoops.Done()
		if ticker != nil {
			defer ticker.Stop()
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-fileTick:
				f.mu.Lock()
				if !r.stopped {
					f.refreshFileSDLocked(r)
				}
				f.mu.Unlock()
			case <-changed:
				if !f.gatherSD(ctx, set) {
					return
				}
				f.mu.Lock()
				if r.stopped {
					set.Poke() // a successor may own the set now: let it look
				} else {
					f.applyDiscoveredLocked(r, set)
				}
				f.mu.Unlock()
			}
		}
	}()
}

// gatherSD waits SDUpdateEvery after a change so that a burst of changes
// is applied once. It reports false when ctx ended first (the change is
// handed on to a successor, if any).
func (f *Forwarder) gatherSD(ctx context.Context, set interface{ Poke() }) bool {
	if f.sdEvery <= 0 {
		return true
	}
	select {
	case <-ctx.Done():
		set.Poke()
		return false
	case <-f.clock.After(f.sdEvery):
		return true
	}
}

// applyDiscoveredLocked applies the set's current groups if they differ
// from those last applied.
func (f *Forwarder) applyDiscoveredLocked(r *sdRunner, set *discovery.Set) {
	groups := config.GroupsFromDiscovery(set.Groups())
	if groupsEqual(groups, r.discovered) {
		return
	}
	r.discovered = groups
	f.applySDLocked(r)
}

func groupsEqual(a, b []config.TargetGroup) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// sdOptions are the options r's discoverers start with.
func (f *Forwarder) sdOptions(r *sdRunner) discovery.Options {
	return discovery.Options{Logger: r.log, Metrics: f.sdm, Clock: f.clock, DNS: f.sdDNS}
}
