package forwarder

import "github.com/promfwd/promfwd/forwarder/state"

// Sources a reload replaces or removes. Removing a job (schedule.go) does
// not wait for a run in progress, so everything that touches a retired source's
// per-run state (its staleness above all) happens under its sourceJob.run,
// after that last run.

// retireSourcesLocked unschedules every source of f.sources that next does
// not keep. A source replaced by one of the same name (its config changed)
// hands its staleness state to the successor, so series that vanish with
// the change get stale markers and series that continue get none; its
// self-metrics stay. A source that is gone for good says goodbye as a
// vanished file_sd target does: stale markers for every series it last
// delivered, then its self-metric series are deleted. Call it before the
// successors are scheduled and after f.sinks holds the new sinks.
func (f *Forwarder) retireSourcesLocked(next map[string]*sourceJob) (gone map[string]*sourceJob) {
	gone = map[string]*sourceJob{}
	for name, sj := range f.sources {
		if next[name] == sj {
			continue
		}
		f.unscheduleLocked(name, sj)
		if succ, ok := next[name]; ok && succ.handle == nil {
			succ.src.handoff = takeOver(sj)
			f.closeAfterRun(sj)
			continue
		}
		gone[name] = sj
	}
	return gone
}

// goodbyeLocked ends the sources that retireSourcesLocked found gone, once
// file_sd targets of the new config are known: a name that came back as a
// file_sd target keeps its self-metrics (its series go on).
func (f *Forwarder) goodbyeLocked(gone map[string]*sourceJob) {
	running, life := !f.sdClosing, f.life
	for name, sj := range gone {
		if _, back := f.sources[name]; back {
			f.closeAfterRun(sj)
			continue
		}
		routes := f.remapRoutes(sj.src.routes())
		f.sdLoops.Add(1)
		go func() {
			defer f.sdLoops.Done()
			sj.run.Lock()
			sj.gone = true
			sj.src.adoptStale()
			markers := sj.src.goodbye(f.clock.Now().UnixMilli())
			sj.run.Unlock()
			if len(markers) > 0 && running {
				f.sm.staleMarkers.WithLabelValues(name).Add(float64(len(markers)))
				f.deliverTo(sj.src, routes, markers) // scrapejob.go: write relabeling counted as for a scrape
				settle(life, routes)                 // durable_intake.go
			}
			sj.src.target.Close()
			f.sm.forget(name)
		}()
	}
}

// remapRoutes maps a retired source's sinks to the sinks of the same name
// in the new config: a sink the reload rebuilt is draining and takes no more
// data, and one the config dropped gets nothing.
func (f *Forwarder) remapRoutes(old []*sinkState) []*sinkState {
	var out []*sinkState
	for _, st := range old {
		if cur, ok := f.sinks[st.name]; ok {
			out = append(out, cur)
		}
	}
	return out
}

// closeAfterRun marks sj gone once a run in progress is over and closes its
// target.
func (f *Forwarder) closeAfterRun(sj *sourceJob) {
	f.sdLoops.Add(1)
	go func() {
		defer f.sdLoops.Done()
		sj.run.Lock()
		sj.gone = true
		sj.run.Unlock()
		sj.src.target.Close()
	}()
}

// takeOver returns the handoff of old's staleness state to its successor:
// it waits for a run of old in progress, stops later ones, and resolves
// old's own pending handoff (a source replaced twice before it ran).
func takeOver(old *sourceJob) func() *state.Staleness {
	return func() *state.Staleness {
		old.run.Lock()
		defer old.run.Unlock()
		old.gone = true
		old.src.adoptStale()
		return old.src.stale
	}
}
