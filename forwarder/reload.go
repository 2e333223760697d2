package forwarder

import (
	"context"
	"fmt"
	"reflect"

	"go.uber.org/zap"
)

// Reload applies a new config without losing queued data: sinks whose config
// is unchanged keep their runner, queue and dedupe memory; sources whose
// config is unchanged keep their job, conditional-GET and staleness state.
// A changed or removed sink is retired: its runner drains what it holds for
// up to shutdown_timeout in the background while the new one takes new data.
// If anything in the new config cannot be built, nothing changes.
func (f *Forwarder) Reload(cfg *Config) error {
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

	newSinks := map[string]*sinkState{}
	var fresh []*sinkState
	abandon := func() { // undo the sinks built so far
		for _, s := range fresh {
			_ = s.sink.Close()
			s.release() // state.go: unlock its disk queue
		}
	}
	type swapPlan struct {
		old *sinkState
		sc  SinkConfig
	}
	var swaps []swapPlan
	for _, sc := range cfg.Sinks {
		if old, ok := f.sinks[sc.Name]; ok && sameSink(old.cfg, sc) && sameDedupe(f.cfg, cfg, sc) {
			newSinks[sc.Name] = old
			continue
		}
		if old, ok := f.sinks[sc.Name]; ok && old.durable != nil && cfg.DataDir == f.cfg.DataDir {
			// Its disk queue is locked by the old runner: check the new
			// settings now, swap at commit (reload_durable.go).
			if err := f.checkSink(sc); err != nil {
				abandon()
				return fmt.Errorf("forwarder: reload: %w", err)
			}
			newSinks[sc.Name] = old
			swaps = append(swaps, swapPlan{old, sc})
			continue
		}
		st, err := f.buildSink(sc, cfg)
		if err != nil {
			abandon()
			return fmt.Errorf("forwarder: reload: %w", err)
		}
		newSinks[sc.Name] = st
		fresh = append(fresh, st)
	}

	oldCfg, oldSinks := f.cfg, f.sinks
	f.cfg, f.sinks = cfg, newSinks // routesFor reads these
	sameShard := oldCfg.Shard == cfg.Shard
	newSources, keptSD, newSD := f.reloadFileSDPlan(cfg, sameShard)
	var built []*sourceJob
	for _, sc := range cfg.Sources {
		if sc.FileSD != nil || !cfg.Shard.Owns(sc.Name, sc.URL) {
			continue
		}
		if old, ok := f.sources[sc.Name]; ok && sameShard && reflect.DeepEqual(old.src.cfg, sc) {
			newSources[sc.Name] = old
			continue
		}
		src, err := f.buildSource(sc)
		if err != nil {
			f.cfg, f.sinks = oldCfg, oldSinks
			abandon()
			for _, sj := range built {
				sj.src.target.Close()
			}
			return fmt.Errorf("forwarder: reload: %w", err)
		}
		sj := &sourceJob{src: src}
		newSources[sc.Name] = sj
		built = append(built, sj)
	}

	// Commit. Swap the durable sinks, then start the new sinks before any
	// source routes to them.
	swapped := map[*sinkState]bool{}
	for _, p := range swaps {
		swapped[p.old] = true
		if st := f.swapDurableSink(p.old, p.sc, cfg); st != nil {
			newSinks[p.sc.Name] = st
			fresh = append(fresh, st)
		} else {
			delete(newSinks, p.sc.Name)
		}
	}
	for _, st := range fresh {
		st.runner.Start(f.life)
	}
	gone := f.retireSourcesLocked(newSources) // reload_source.go
	for _, sj := range built {
		if err := f.schedule(sj); err != nil {
			f.log.Error("schedule source after reload", zap.String("source", sj.src.name), zap.Error(err))
		}
	}
	for _, sj := range newSources {
		sj.src.setRoutes(f.routesFor(sj.src.cfg))
		sj.src.resetFreshness() // maxage.go
	}
	f.sources = newSources
	f.commitFileSDLocked(keptSD, newSD)
	f.goodbyeLocked(gone)
	for name, st := range oldSinks {
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
		zap.Int("new_sources", len(built)), zap.Int("new_sinks", len(fresh)))
	return nil
}

// sameSink reports whether a sink's configuration is unchanged. Where the
// sink sits in the file is not part of it: adding a source above the sinks
// must not rebuild them (and lose their dedupe memory).
func sameSink(a, b SinkConfig) bool {
	a.Line, b.Line = 0, 0
	return reflect.DeepEqual(a, b)
}

// sameDedupe reports whether a sink's effective resend_after is unchanged.
func sameDedupe(a, b *Config, sc SinkConfig) bool {
	if sc.ResendAfter != nil {
		return true // the sink's own override is part of its config
	}
	return a.Dedupe == b.Dedupe
}
