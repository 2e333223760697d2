package forwarder

import (
	"context"
	"errors"
	"reflect"
	"strings"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/forwarder/discovery"
)

// sdRunner is one discovering source at run time: its file_sd files (read
// here), its other discoverers (a discovery.Set), and the loop that applies
// what they find. Fields other than files and set's own state are guarded
// by Forwarder.mu.
type sdRunner struct {
	src   config.SourceConfig
	files *fileSD        // nil without file_sd_configs
	set   *discovery.Set // nil without other *_sd_configs, or until the loop starts
	// discovered are the set's groups as last applied.
	discovered []config.TargetGroup
	// kind names the source's mechanisms ("file_sd", "http_sd+dns_sd") for
	// its targets' jobs; computed once, not per discovered target.
	kind    string
	log     *zap.Logger
	stopped bool // set (under f.mu) when a reload or shutdown retires it
	cancel  context.CancelFunc
}

// newSDRunner is sc's runner before its files are read or its loop starts.
func (f *Forwarder) newSDRunner(sc config.SourceConfig) *sdRunner {
	return &sdRunner{
		src:  sc,
		kind: strings.Join(sc.Mechanisms(), "+"),
		log:  f.log.With(zap.String("source", sc.Name)),
	}
}

// startSDLocked reads a discovering source's files once and adds the
// targets this shard owns (scheduled at once when the scheduler runs). Its
// other discoverers start with its loop (runSDLocked).
func (f *Forwarder) startSDLocked(sc config.SourceConfig) *sdRunner {
	r := f.newSDRunner(sc)
	if len(sc.FileSDConfigs) > 0 {
		r.files = newFileSD(sc)
		if !f.readFileSDLocked(r) {
			return r
		}
	}
	f.applySDLocked(r)
	return r
}

// refreshFileSDLocked re-reads r's files and applies the change, if any.
// The files are small and local: reading them under f.mu keeps a refresh
// and a reload from interleaving.
func (f *Forwarder) refreshFileSDLocked(r *sdRunner) {
	if f.readFileSDLocked(r) {
		f.applySDLocked(r)
	}
}

// readFileSDLocked re-reads r's files, logs what cannot be used (once per
// change), and reports whether their groups changed.
func (f *Forwarder) readFileSDLocked(r *sdRunner) bool {
	changed, problems := r.files.refresh()
	f.logFileSDProblems(r, problems)
	return changed
}

func (f *Forwarder) logFileSDProblems(r *sdRunner, problems []error) {
	err := errors.Join(problems...)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg == r.files.problems {
		return // logged when it first appeared
	}
	r.files.problems = msg
	if err == nil {
		r.log.Info("file_sd files readable again")
		return
	}
	r.log.Warn("file_sd: keeping the last good targets of files that cannot be used", zap.Error(err))
}

// targets expands the current groups (files in path order, then each
// discoverer's) through the source's relabel_configs; problems are targets
// the rules left unscrapable.
func (r *sdRunner) targets() ([]config.SourceConfig, []error) {
	var groups []config.TargetGroup
	if r.files != nil {
		groups = r.files.groups()
	}
	groups = append(groups, r.discovered...)
	return r.src.ExpandTargets(groups)
}

// applySDLocked makes f.sources hold exactly the targets r's files and
// discoverers list and this shard owns: unchanged targets keep their job
// and state, new ones are built (and scheduled if running), vanished ones
// are unscheduled and closed. Other sources are not touched.
func (f *Forwarder) applySDLocked(r *sdRunner) {
	name := r.src.Name
	current := map[string]*sourceJob{}
	for n, sj := range f.sources {
		if sj.discoveredBy == name {
			current[n] = sj
		}
	}
	added, removed := 0, 0
	targets, problems := r.targets()
	for _, err := range problems {
		r.log.Warn("discovered target not scraped", zap.Error(err))
	}
	for _, tc := range targets {
		if !f.cfg.Shard.Owns(name, tc.URL) {
			continue
		}
		prev, ok := current[tc.Name]
		if ok {
			delete(current, tc.Name)
			if reflect.DeepEqual(prev.src.cfg, tc) {
				continue
			}
			removed++
		}
		src, err := f.buildSource(tc)
		if err != nil {
			r.log.Warn("discovered target not scraped", zap.String("url", tc.URL), zap.Error(err))
			if prev != nil {
				f.vanishLocked(tc.Name, prev)
			}
			continue
		}
		if prev != nil {
			f.handOverLocked(tc.Name, prev, src) // sd_handover.go: stale markers for what the change ends
		}
		sj := &sourceJob{src: src, discoveredBy: name, kind: r.kind}
		f.sources[tc.Name] = sj
		added++
		if f.sched != nil {
			if err := f.schedule(sj); err != nil {
				r.log.Error("schedule discovered target", zap.String("url", tc.URL), zap.Error(err))
			}
		}
	}
	for n, sj := range current {
		f.vanishLocked(n, sj)
		removed++
	}
	if added > 0 || removed > 0 {
		r.log.Info("discovered targets changed", zap.Int("added", added), zap.Int("removed", removed))
	}
}

// unscheduleLocked removes sj's job from the scheduler, if it has one.
func (f *Forwarder) unscheduleLocked(name string, sj *sourceJob) {
	if f.sched == nil || sj.handle == nil {
		return
	}
	sj.handle.remove() // its goroutine ends after a run in progress (schedule.go)
}

// vanishLocked retires a target its discovery no longer lists, as
// Prometheus does: unscheduled now; then, after a scrape still running,
// stale markers for every series it had (so remote-write readers see the
// series end) and its self-metrics forgotten, so target churn does not
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
		sj.src.adoptStale() // replaced before its first run: the predecessor's series end too
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

// stopSDs ends every discovery loop and discoverer before shutdown; their
// targets stay until the scheduler stops.
func (f *Forwarder) stopSDs() {
	f.mu.Lock()
	f.sdClosing = true
	for _, r := range f.sdRunners {
		f.retireSDLocked(r, false)
	}
	f.mu.Unlock()
	f.sdLoops.Wait()
}

// retireSDLocked stops r's loop and, unless a successor took them over,
// its discoverers; forget deletes their metric series (the source is gone).
func (f *Forwarder) retireSDLocked(r *sdRunner, forget bool) {
	r.stopLoopLocked()
	if set := r.set; set != nil {
		r.set = nil
		f.sdLoops.Add(1)
		go func() { // a discoverer may take a moment to notice; not under f.mu
			defer f.sdLoops.Done()
			set.Stop()
			if forget {
				set.Forget()
			}
		}()
	}
}

// stopLoopLocked ends r's loop (its set, if any, is the caller's to stop
// or hand on).
func (r *sdRunner) stopLoopLocked() {
	r.stopped = true
	if r.cancel != nil {
		r.cancel()
	}
}

// reloadSDPlan decides, for a reload to cfg, which discovering sources
// keep their runner (same config and shard: their targets, jobs and state
// carry over into the returned sources map) and which start afresh.
func (f *Forwarder) reloadSDPlan(cfg *config.Config, sameShard bool) (sources map[string]*sourceJob, kept map[string]*sdRunner, fresh []config.SourceConfig) {
	sources = map[string]*sourceJob{}
	kept = map[string]*sdRunner{}
	for _, sc := range cfg.Sources {
		if !sc.Discovers() {
			continue
		}
		if r, ok := f.sdRunners[sc.Name]; ok && sameShard && reflect.DeepEqual(r.src, sc) {
			kept[sc.Name] = r
			continue
		}
		fresh = append(fresh, sc)
	}
	for n, sj := range f.sources {
		if _, ok := kept[sj.discoveredBy]; ok && sj.discoveredBy != "" {
			sources[n] = sj
		}
	}
	return sources, kept, fresh
}

// commitSDLocked retires the runners a reload does not keep (their targets
// are already unscheduled) and starts the new ones. A new runner whose
// discovery configs are those of the runner it replaces (only relabeling or
// scrape settings changed) takes over its discoverers and what they found,
// so its targets do not vanish until they report again.
func (f *Forwarder) commitSDLocked(kept map[string]*sdRunner, fresh []config.SourceConfig) {
	old := f.sdRunners
	f.sdRunners = kept
	inherit := map[string]*sdRunner{}
	renewed := map[string]bool{}
	for _, sc := range fresh {
		renewed[sc.Name] = true
		if o, ok := old[sc.Name]; ok && o.set != nil && sameDiscoverers(o.src, sc) {
			inherit[sc.Name] = o
		}
	}
	for name, r := range old {
		if kept[name] == r {
			continue
		}
		if inherit[name] == r {
			r.stopLoopLocked() // its set goes on in the successor
			continue
		}
		// A source renewed under its name with other discovery configs
		// keeps its discovery metric series: its new set reports into them,
		// and an asynchronous Forget would delete what the new set wrote.
		f.retireSDLocked(r, !renewed[name])
	}
	for _, sc := range fresh {
		r := f.newSDRunner(sc)
		if o := inherit[sc.Name]; o != nil {
			r.set, o.set = o.set, nil
			r.discovered = config.GroupsFromDiscovery(r.set.Groups())
		}
		if len(sc.FileSDConfigs) > 0 {
			r.files = newFileSD(sc)
			f.readFileSDLocked(r) // applied below either way: an inherited set's groups may be new
		}
		f.applySDLocked(r)
		f.sdRunners[sc.Name] = r
		f.runSDLocked(r)
	}
}

// sameDiscoverers reports whether two sources discover with the same
// configs (other than file_sd, which is re-read at once anyway).
func sameDiscoverers(a, b config.SourceConfig) bool {
	return reflect.DeepEqual(a.Discoverers(), b.Discoverers())
}
