package forwarder

import (
	"context"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/scrape/dockerplugin"
	"github.com/promfwd/promfwd/sinks"
)

// dockerGated reports whether the source scrapes only while the Docker
// daemon has metrics started (in -docker-plugin mode).
func dockerGated(s *config.SourceConfig) bool {
	return s.DockerPlugin || s.URL == dockerplugin.MetricsURL
}

// servePluginLocked binds the Docker plugin socket (so a busy path fails at
// start-up) and answers the daemon until ctx ends. The returned channel is
// closed once serving has stopped (at once when there is no plugin socket).
func (f *Forwarder) servePluginLocked(ctx context.Context) (<-chan struct{}, error) {
	done := make(chan struct{})
	if f.pluginSck == "" {
		close(done)
		return done, nil
	}
	ln, err := dockerplugin.Listen(f.pluginSck)
	if err != nil {
		close(done)
		return done, err
	}
	f.toggle = dockerplugin.NewToggle(f.pluginStarted, f.pluginStopped)
	log := f.log.Named("dockerplugin")
	gated := 0
	for _, sj := range f.sources {
		if dockerGated(&sj.src.cfg) {
			gated++
		}
	}
	if gated == 0 {
		log.Warn("docker plugin mode, but no source has docker_plugin: true or url " + dockerplugin.MetricsURL)
	}
	srv := dockerplugin.NewServer(f.toggle, log)
	go func() {
		defer close(done)
		if err := srv.ServeListener(ctx, ln); err != nil {
			log.Error("docker plugin socket stopped", zap.Error(err))
		}
	}()
	return done, nil
}

// pluginStarted runs every gated source at once, so the daemon's metrics
// flow without waiting a whole interval.
func (f *Forwarder) pluginStarted(context.Context) error {
	f.mu.Lock()
	var jobs []*schedJob
	for _, sj := range f.sources {
		if sj.handle != nil && dockerGated(&sj.src.cfg) {
			jobs = append(jobs, sj.handle)
		}
	}
	f.mu.Unlock()
	f.log.Info("docker daemon started metrics: scraping its socket", zap.Int("sources", len(jobs)))
	for _, j := range jobs {
		j.runNow() // a run in progress already scrapes; the next tick does anyway
	}
	return nil
}

// pluginStopped only logs: the gate is already closed, and samples queued
// for the sinks are delivered as usual.
func (f *Forwarder) pluginStopped(context.Context) error {
	f.log.Info("docker daemon stopped metrics: pausing its sources; queued samples are still delivered")
	return nil
}

// scheduleHeartbeat adds the heartbeat job when Options.Heartbeat is set.
func (f *Forwarder) scheduleHeartbeat() error {
	if f.heartbeat <= 0 {
		return nil
	}
	f.sched.add("heartbeat", f.heartbeat, 0, func(context.Context) { f.beat.Store(f.clock.Now().UnixNano()) })
	return nil
}

// Alive reports whether the scheduler ran its heartbeat job within maxAge:
// false before Run, after shutdown began, or when the scheduler is stuck.
// It needs Options.Heartbeat (shorter than maxAge).
func (f *Forwarder) Alive(maxAge time.Duration) bool {
	b := f.beat.Load()
	return b != 0 && f.clock.Since(time.Unix(0, b)) < maxAge
}

// SinkStatus is one sink's delivery backlog, for status lines.
type SinkStatus struct {
	Name string
	sinks.RunnerStats
}

// SinkStatus snapshots every sink's backlog, sorted by name.
func (f *Forwarder) SinkStatus() []SinkStatus {
	f.mu.Lock()
	out := make([]SinkStatus, 0, len(f.sinks))
	for name, st := range f.sinks {
		out = append(out, SinkStatus{Name: name, RunnerStats: st.runner.Stats()})
	}
	f.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Targets lists the names of the targets this replica scrapes (static
// sources and file_sd targets after sharding), sorted.
func (f *Forwarder) Targets() []string {
	f.mu.Lock()
	out := make([]string, 0, len(f.sources))
	for name := range f.sources {
		out = append(out, name)
	}
	f.mu.Unlock()
	sort.Strings(out)
	return out
}
