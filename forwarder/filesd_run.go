package forwarder

import (
	"context"
	"errors"
	"reflect"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/config"
)

// sdRunner is one file_sd source at run time: its files and the loop that
// re-reads them. Fields other than sd are guarded by Forwarder.mu.
type sdRunner struct {
	sd      *fileSD
	log     *zap.Logger
	stopped bool // set (under f.mu) when a reload or shutdown retires it
	cancel  context.CancelFunc
}

// startFileSDLocked reads a file_sd source's files once and adds the
// targets this shard owns (scheduled at once when the scheduler runs).
func (f *Forwarder) startFileSDLocked(sc config.SourceConfig) *sdRunner {
	r := &sdRunner{sd: newFileSD(sc), log: f.log.With(zap.String("source", sc.Name))}
	f.refreshFileSDLocked(r)
	return r
}

// refreshFileSDLocked re-reads r's files and applies the change, if any.
// The files are small and local: reading them under f.mu keeps a refresh
// and a reload from interleaving.
func (f *Forwarder) refreshFileSDLocked(r *sdRunner) {
	changed, problems := r.sd.refresh()
	f.logFileSDProblems(r, problems)
	if changed {
		f.applyFileSDLocked(r)
	}
}

func (f *Forwarder) logFileSDProblems(r *sdRunner, problems []error) {
	err := errors.Join(problems...)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg == r.sd.problems {
		return // logged when it first appeared
	}
	r.sd.problems = msg
	if err == nil {
		r.log.Info("file_sd files readable again")
		return
	}
	r.log.Warn("file_sd: keeping the last good targets of files that cannot be used", zap.Error(err))
}

// applyFileSDLocked makes f.sources hold exactly the targets r's files list
// and this shard owns: unchanged targets keep their job and state, new ones
// are built (and scheduled if running), vanished ones are unscheduled and
// closed. Other sources are not touched.
func (f *Forwarder) applyFileSDLocked(r *sdRunner) {
	name := r.sd.src.Name
	current := map[string]*sourceJob{}
	for n, sj := range f.sources {
		if sj.fileSD == name {
			current[n] = sj
		}
	}
	added, removed := 0, 0
	targets, problems := r.sd.targets()
	for _, err := range problems {
		r.log.Warn("file_sd: target not scraped", zap.Error(err))
	}
	for _, tc := range targets {
		if !f.cfg.Shard.Owns(name, tc.URL) {
			continue
		}
		if old, ok := current[tc.Name]; ok {
			delete(current, tc.Name)
			if reflect.DeepEqual(old.src.cfg, tc) {
				continue
			}
			f.dropSourceLocked(tc.Name, old)
			removed++
		}
		src, err := f.buildSource(tc)
		if err != nil {
			r.log.Warn("file_sd: target not scraped", zap.String("url", tc.URL), zap.Error(err))
			continue
		}
		sj := &sourceJob{src: src, fileSD: name}
		f.sources[tc.Name] = sj
		added++
		if f.sched != nil {
			if err := f.schedule(sj); err != nil {
				r.log.Error("file_sd: schedule target", zap.String("url", tc.URL), zap.Error(err))
			}
		}
	}
	for n, sj := range current {
		f.vanishLocked(n, sj)
		removed++
	}
	if added > 0 || removed > 0 {
		r.log.Info("file_sd targets changed", zap.Int("added", added), zap.Int("removed", removed))
	}
}

// unscheduleLocked removes sj's job from the scheduler, if it has one.
func (f *Forwarder) unscheduleLocked(name string, sj *sourceJob) {
	if f.sched == nil || sj.handle == nil {
		return
	}
	sj.handle.remove() // its goroutine ends after a run in progress (schedule.go)
}

// dropSourceLocked unschedules and forgets one source.
func (f *Forwarder) dropSourceLocked(name string, sj *sourceJob) {
	f.unscheduleLocked(name, sj)
	sj.src.target.Close()
	delete(f.sources, name)
}

// vanishLocked retires a target its file_sd files no longer list, as
// Prometheus does: unscheduled now; then, after a scrape still running,
// stale markers for every series it had (so remote-write readers see the
// series end) and its self-metrics forgotten, so file_sd churn does not
// grow them without bound.
func (f *Forwarder) vanishLocked(name string, sj *sourceJob) {
	f.unscheduleLocked(name, sj)
	delete(f.sources, name)
	running := f.sched != nil && !f.sdClosing
	life := f.life
	f.sdLoops.Add(1)
	go func() {
		defer f.sdLoops.Done()
		sj.run.Lock()
		sj.gone = true
		if markers := sj.src.goodbye(f.clock.Now().UnixMilli()); len(markers) > 0 && running {
			f.sm.staleMarkers.WithLabelValues(name).Add(float64(len(markers)))
			f.deliver(sj.src, markers)
			settle(life, sj.src.routes()) // durable_intake.go
		}
		sj.run.Unlock()
		sj.src.target.Close()
		f.sm.forget(name)
	}()
}

// runFileSDLocked starts r's refresh loop; it ends when r is retired.
func (f *Forwarder) runFileSDLocked(r *sdRunner) {
	if f.sdClosing {
		return // shutting down: a late reload starts no loop
	}
	ctx, cancel := context.WithCancel(f.life)
	r.cancel = cancel
	f.sdLoops.Add(1)
	go func() {
		defer f.sdLoops.Done()
		t := f.clock.NewTicker(r.sd.src.FileSD.RefreshInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.Chan():
			}
			f.mu.Lock()
			if !r.stopped {
				f.refreshFileSDLocked(r)
			}
			f.mu.Unlock()
		}
	}()
}

// stopFileSDs ends every refresh loop before shutdown; their targets stay
// until the scheduler stops.
func (f *Forwarder) stopFileSDs() {
	f.mu.Lock()
	f.sdClosing = true
	for _, r := range f.fileSDs {
		r.stopped = true
		if r.cancel != nil {
			r.cancel()
		}
	}
	f.mu.Unlock()
	f.sdLoops.Wait()
}

// reloadFileSDPlan decides, for a reload to cfg, which file_sd sources keep
// their runner (same config and shard: their targets, jobs and state carry
// over into the returned sources map) and which start afresh.
func (f *Forwarder) reloadFileSDPlan(cfg *config.Config, sameShard bool) (sources map[string]*sourceJob, kept map[string]*sdRunner, fresh []config.SourceConfig) {
	sources = map[string]*sourceJob{}
	kept = map[string]*sdRunner{}
	for _, sc := range cfg.Sources {
		if sc.FileSD == nil {
			continue
		}
		if r, ok := f.fileSDs[sc.Name]; ok && sameShard && reflect.DeepEqual(r.sd.src, sc) {
			kept[sc.Name] = r
			continue
		}
		fresh = append(fresh, sc)
	}
	for n, sj := range f.sources {
		if _, ok := kept[sj.fileSD]; ok && sj.fileSD != "" {
			sources[n] = sj
		}
	}
	return sources, kept, fresh
}

// commitFileSDLocked retires the runners a reload does not keep (their
// targets are already unscheduled) and starts the new ones.
func (f *Forwarder) commitFileSDLocked(kept map[string]*sdRunner, fresh []config.SourceConfig) {
	for name, r := range f.fileSDs {
		if kept[name] != r {
			r.stopped = true
			if r.cancel != nil {
				r.cancel()
			}
		}
	}
	f.fileSDs = kept
	for _, sc := range fresh {
		r := f.startFileSDLocked(sc)
		f.fileSDs[sc.Name] = r
		f.runFileSDLocked(r)
	}
}
