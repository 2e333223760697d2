package forwarder

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/config"
)

// Reload applies a new config without losing queued data: sinks whose config
// is unchanged keep their runner, queue and dedupe memory; sources whose
// config is unchanged keep their job, conditional-GET and staleness state.
// A changed or removed sink is retired: its runner drains what it holds for
// up to shutdown_timeout in the background while the new one takes new data.
// If anything in the new config cannot be built, nothing changes.
// Each call counts in promfwd_config_reloads_total and is shown on the
// overview page.
func (f *Forwarder) Reload(cfg *config.Config) error {
	err := f.reload(cfg)
	f.pm.reloaded(err == nil, f.clock.Now())
	f.ReportReload(err) // status_feed.go
	return err
}

func (f *Forwarder) reload(cfg *config.Config) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sched == nil {
		return fmt.Errorf("forwarder: reload before Run")
	}
	if cfg.Server.Listen != f.cfg.Server.Listen {
		f.log.Warn("server.listen changes need a restart; keeping the old address",
			zap.String("old", f.cfg.Server.Listen), zap.String("new", cfg.Server.Listen))
		cfg.Server.Listen = f.cfg.Server.Listen
	}
	if cfg.Server.WebConfigFile != f.cfg.Server.WebConfigFile { // its content is re-read per request; its path is not
		f.log.Warn("server.web_config_file path changes need a restart; keeping the old file")
		cfg.Server.WebConfigFile = f.cfg.Server.WebConfigFile
	}
	p := &reloadPlan{cfg: cfg, sinks: map[string]*sinkState{}}
	if err := f.planSinksLocked(p); err != nil {
		p.abandon()
		return fmt.Errorf("forwarder: reload: %w", err)
	}
	p.oldCfg, p.oldSinks = f.cfg, f.sinks
	f.cfg, f.sinks = cfg, p.sinks // routesFor reads these
	if err := f.planSourcesLocked(p); err != nil {
		f.cfg, f.sinks = p.oldCfg, p.oldSinks
		p.abandon()
		for _, sj := range p.built {
			sj.src.target.Close()
		}
		return fmt.Errorf("forwarder: reload: %w", err)
	}
	f.commitReloadLocked(p)
	f.syncAggregateTickLocked() // aggregate.go
	f.logCredentialProblemsLocked()
	return nil
}

// reloadPlan is what a reload builds before it changes anything running.
type reloadPlan struct {
	cfg      *config.Config
	sinks    map[string]*sinkState // the sinks after the reload
	fresh    []*sinkState          // built by this reload, started at commit
	swaps    []swapPlan            // durable sinks rebuilt in place at commit
	sources  map[string]*sourceJob // the sources after the reload
	built    []*sourceJob          // built by this reload, scheduled at commit
	keptSD   map[string]*sdRunner
	newSD    []config.SourceConfig
	oldCfg   *config.Config
	oldSinks map[string]*sinkState
}

// swapPlan is a durable sink whose settings change: its disk queue is
// locked by the old runner, so it is rebuilt at commit (reload_durable.go).
type swapPlan struct {
	old *sinkState
	sc  config.SinkConfig
}

// abandon undoes the sinks built so far.
func (p *reloadPlan) abandon() {
	for _, s := range p.fresh {
		_ = s.sink.Close()
		s.release() // durable.go: unlock its disk queue
	}
}

// planSinksLocked keeps the unchanged sinks, checks the durable ones to
// swap and builds the others.
func (f *Forwarder) planSinksLocked(p *reloadPlan) error {
	cfg := p.cfg
	for _, sc := range cfg.Sinks {
		if old, ok := f.sinks[sc.Name]; ok && sameSink(old.cfg, sc) && sameDedupe(f.cfg, cfg, sc) {
			p.sinks[sc.Name] = old
			continue
		}
		if old, ok := f.sinks[sc.Name]; ok && old.durable != nil && cfg.DataDir == f.cfg.DataDir {
			// Its disk queue is locked by the old runner: check the new
			// settings now, swap at commit (reload_durable.go).
			if err := f.checkSink(sc); err != nil {
				return err
			}
			p.sinks[sc.Name] = old
			p.swaps = append(p.swaps, swapPlan{old, sc})
			continue
		}
		st, err := f.buildSink(sc, cfg)
		if err != nil {
			return err
		}
		p.sinks[sc.Name] = st
		p.fresh = append(p.fresh, st)
	}
	return nil
}

// planSourcesLocked keeps the unchanged sources and builds the others
// (discovering ones are planned by reloadSDPlan). It runs with f.cfg and
// f.sinks already those of the new config.
func (f *Forwarder) planSourcesLocked(p *reloadPlan) error {
	cfg := p.cfg
	sameShard := p.oldCfg.Shard == cfg.Shard
	p.sources, p.keptSD, p.newSD = f.reloadSDPlan(cfg, sameShard)
	for _, sc := range cfg.Sources {
		if sc.Discovers() || !cfg.Shard.Owns(sc.Name, sc.URL) {
			continue
		}
		if old, ok := f.sources[sc.Name]; ok && sameShard && reflect.DeepEqual(old.src.cfg, sc) {
			p.sources[sc.Name] = old
			continue
		}
		src, err := f.buildSource(sc)
		if errors.Is(err, config.ErrTargetDropped) {
			continue // retired like a removed source
		}
		if err != nil {
			return err
		}
		sj := &sourceJob{src: src}
		p.sources[sc.Name] = sj
		p.built = append(p.built, sj)
	}
	return nil
}

// commitReloadLocked switches to the plan. Swap the durable sinks, then
// start the new sinks before any source routes to them; retire what is
// gone.
func (f *Forwarder) commitReloadLocked(p *reloadPlan) {
	cfg, newSinks, newSources := p.cfg, p.sinks, p.sources
	swapped := map[*sinkState]bool{}
	for _, sp := range p.swaps {
		swapped[sp.old] = true
		if st := f.swapDurableSink(sp.old, sp.sc, cfg); st != nil {
			newSinks[sp.sc.Name] = st
			p.fresh = append(p.fresh, st)
		} else {
			delete(newSinks, sp.sc.Name)
		}
	}
	for _, st := range p.fresh {
		st.runner.Start(f.life)
	}
	gone := f.retireSourcesLocked(newSources) // reload_source.go
	for _, sj := range p.built {
		if err := f.schedule(sj); err != nil {
			f.log.Error("schedule source after reload", zap.String("source", sj.src.name), zap.Error(err))
		}
	}
	for _, sj := range newSources {
		sj.src.setRoutes(f.routesFor(sj.src.cfg))
		sj.src.resetFreshness() // maxage.go
	}
	f.sources = newSources
	f.commitSDLocked(p.keptSD, p.newSD)
	f.goodbyeLocked(gone)
	for name, st := range p.oldSinks {
		if newSinks[name] == st || swapped[st] {
			continue // kept, or already swapped in place
		}
		f.retired.Add(1)
		go func() {
			defer f.retired.Done()
			ctx, cancel := context.WithTimeout(f.life, cfg.ShutdownTimeout)
			defer cancel()
			f.stopSink(ctx, st)
		}()
	}
	f.log.Info("config reloaded", zap.Int("sources", len(newSources)), zap.Int("sinks", len(newSinks)),
		zap.Int("new_sources", len(p.built)), zap.Int("new_sinks", len(p.fresh)))
}

// sameSink reports whether a sink's configuration is unchanged. Where the
// sink sits in the file is not part of it: adding a source above the sinks
// must not rebuild them (and lose their dedupe memory).
func sameSink(a, b config.SinkConfig) bool {
	a.Line, b.Line = 0, 0
	return reflect.DeepEqual(a, b)
}

// sameDedupe reports whether a sink's effective resend_after is unchanged.
func sameDedupe(a, b *config.Config, sc config.SinkConfig) bool {
	return sc.EffectiveResendAfter(a.Dedupe) == sc.EffectiveResendAfter(b.Dedupe)
}
