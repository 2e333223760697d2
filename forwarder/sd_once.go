package forwarder

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/forwarder/discovery"
)

// onceDiscoveryWait bounds how long `promfwd once` waits for a source's
// discoverers to answer for the first time.
const onceDiscoveryWait = 15 * time.Second

// discoverOnce gives `promfwd once` the targets of every discovering
// source: file_sd targets are known since New; the other discoverers run
// until each has answered once (or onceDiscoveryWait passes), and their
// targets are added.
func (f *Forwarder) discoverOnce(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.sdRunners {
		cfgs := r.src.Discoverers()
		if len(cfgs) == 0 {
			continue
		}
		set, err := discovery.Start(ctx, r.src.Name, cfgs, f.sdOptions(r))
		if err != nil {
			r.log.Error("discovery not started", zap.Error(err))
			continue
		}
		deadline := f.clock.After(onceDiscoveryWait)
		if !waitReady(ctx, set, deadline) {
			r.log.Warn("discovery did not answer in time; showing what it found so far",
				zap.Duration("waited", onceDiscoveryWait))
		} else {
			settleSet(ctx, set, deadline) // sd_settle.go: Kubernetes answers one object at a time
		}
		set.Stop()
		r.discovered = config.GroupsFromDiscovery(set.Groups())
		f.applySDLocked(r)
	}
}

func waitReady(ctx context.Context, set *discovery.Set, deadline <-chan time.Time) bool {
	for !set.Ready() {
		select {
		case <-set.Changed():
		case <-deadline:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}
