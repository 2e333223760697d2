package forwarder

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/forwarder/discovery"
	"github.com/promfwd/promfwd/forwarder/state"
	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/scrape/dockerplugin"
	"github.com/promfwd/promfwd/sinks"
)

// Options are the forwarder's dependencies.
type Options struct {
	Logger  *zap.Logger
	Clock   clockwork.Clock // nil: real clock
	Version string          // for User-Agent: promfwd/<version>
	// Heartbeat, when positive, runs a scheduler job that often; Alive
	// reports whether it ran recently (the systemd watchdog's evidence
	// that the scheduler is alive).
	Heartbeat time.Duration
	// DockerPluginSocket, when set, serves the Docker metrics-collector
	// plugin protocol on this unix socket; docker_plugin sources then
	// scrape only between the daemon's StartMetrics and StopMetrics.
	DockerPluginSocket string
	// SDUpdateEvery is how long discovered target changes are gathered
	// before they are applied (DefaultSDUpdateEvery if zero; negative:
	// at once).
	SDUpdateEvery time.Duration
	// DNS, when set, is the resolver dns_sd_configs query instead of
	// /etc/resolv.conf's (tests).
	DNS *discovery.DNSClientConfig
	// StatusSampleEvery is the step of the status pages' sink charts
	// (DefaultStatusSampleEvery if not positive).
	StatusSampleEvery time.Duration
}

// Forwarder runs sources on a schedule and pushes their samples to sinks.
type Forwarder struct {
	log       *zap.Logger
	clock     clockwork.Clock
	userAgent string
	heartbeat time.Duration
	pluginSck string
	beat      atomic.Int64 // UnixNano of the last heartbeat job run
	reg       *prometheus.Registry
	sm        *sourceMetrics
	skm       *sinks.Metrics
	pm        *processMetrics
	feed      *statusFeed    // status_feed.go: what the status pages add to the running state
	am        *aggMetricVecs // aggregate.go
	sdm       *discovery.Metrics
	sdEvery   time.Duration
	sdDNS     *discovery.DNSClientConfig
	// batches: parse arrays, reused once every sink encoded them (batchref.go).
	batches *scrape.BatchPool
	bodies  *scrape.BodyBuffers // scrape body buffers every target shares

	mu        sync.Mutex // guards everything below during reloads
	cfg       *config.Config
	sinks     map[string]*sinkState
	sources   map[string]*sourceJob // static sources and discovered targets this shard owns
	sdRunners map[string]*sdRunner  // by discovering source name
	sched     *scheduler            // schedule.go; nil until Run
	aggTick   *schedJob             // aggregate.go; nil while no sink aggregates
	toggle    *dockerplugin.Toggle  // nil unless DockerPluginSocket is set
	srv       *server
	life      context.Context // lives until shutdown completes: runners retry under it
	retired   sync.WaitGroup  // runners replaced by a reload, still draining
	sdLoops   sync.WaitGroup  // discovery loops and vanished targets' goodbyes
	// sdClosing is set when shutdown begins: no discovery work starts after.
	sdClosing bool
}

type sourceJob struct {
	src    *source
	handle *schedJob // nil until scheduled
	// discoveredBy is the source whose discovery produced this target; ""
	// if static. kind names its mechanisms ("file_sd", "http_sd+dns_sd").
	discoveredBy, kind string
	// run is held by each run of the job, so a vanished discovered target's
	// goodbye (filesd_run.go) comes after its last scrape.
	run  sync.Mutex
	gone bool // under run: the target vanished; later runs do nothing
}

// sinkState is one running sink: the destination, its delivery runner and
// its dedupe memory.
type sinkState struct {
	name   string
	cfg    config.SinkConfig
	sink   sinks.Sink
	runner *sinks.Runner
	dedupe *state.Dedupe
	health *sinks.Health
	// durable is the disk queue and checkpoint (durable.go); nil without data_dir.
	durable *state.Durable
	// stages is the per-sink transform chain (aggregate.go); nil without one.
	stages *sinkStages

	// swap guards next: a reload that replaces a durable sink holds it
	// exclusively while the old runner persists and the new one opens the
	// same queue; admits then go to next (reload_durable.go).
	swap sync.RWMutex
	next *sinkState
}

// New builds every sink and source of cfg. Nothing runs until Run.
func New(cfg *config.Config, opts Options) (*Forwarder, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	reg := newRegistry()
	f := &Forwarder{
		log:       opts.Logger,
		clock:     opts.Clock,
		userAgent: "promfwd/" + opts.Version,
		heartbeat: opts.Heartbeat,
		pluginSck: opts.DockerPluginSocket,
		reg:       reg,
		sm:        newSourceMetrics(reg),
		skm:       sinks.NewMetrics(reg),
		batches:   newBatchPool(reg), // batchref.go
		bodies:    scrape.NewBodyBuffers(),
		pm:        newProcessMetrics(reg, opts.Version, opts.Clock.Now()),
		am:        newAggMetrics(reg),
		cfg:       cfg,
		sinks:     map[string]*sinkState{},
		sources:   map[string]*sourceJob{},
		sdRunners: map[string]*sdRunner{},
		sdm:       discovery.NewMetrics(reg),
		sdEvery:   sdUpdateEvery(opts.SDUpdateEvery),
		sdDNS:     opts.DNS,
		feed:      newStatusFeed(opts.Version, opts.Clock.Now(), opts.StatusSampleEvery),
	}
	for _, sc := range cfg.Sinks {
		st, err := f.buildSink(sc, cfg)
		if err != nil {
			f.closeAll()
			return nil, err
		}
		f.sinks[sc.Name] = st
	}
	for _, sc := range cfg.Sources {
		if sc.Discovers() {
			f.sdRunners[sc.Name] = f.startSDLocked(sc)
			continue
		}
		if !cfg.Shard.Owns(sc.Name, sc.URL) {
			continue
		}
		src, err := f.buildSource(sc)
		if errors.Is(err, config.ErrTargetDropped) {
			f.log.Info("source not scraped: its relabel_configs drop the target", zap.String("source", sc.Name))
			continue
		}
		if err != nil {
			f.closeAll()
			return nil, err
		}
		f.sources[sc.Name] = &sourceJob{src: src}
	}
	if cfg.Shard.Enabled() {
		f.log.Info("sharding targets", zap.Int("shard_count", cfg.Shard.Count),
			zap.Int("shard_index", cfg.Shard.Ordinal()), zap.Int("targets_owned", len(f.sources)))
	}
	return f, nil
}

// Registry is the self-metrics registry (tests read it).
func (f *Forwarder) Registry() *prometheus.Registry { return f.reg }

func (f *Forwarder) buildSink(sc config.SinkConfig, cfg *config.Config) (*sinkState, error) {
	// Settings scopes the logger with the sink's name; scoping it here too
	// would print "sink" twice in every JSON line.
	set := f.skm.Settings(sc.Name, f.log, f.userAgent)
	set.MaxBackoff = sc.Runner.RetryWaitMax
	s, err := config.BuildSink(sc, set)
	if err != nil {
		return nil, err // config.BuildSink names the sink
	}
	resend := sc.EffectiveResendAfter(cfg.Dedupe)
	st := &sinkState{
		name:   sc.Name,
		cfg:    sc,
		sink:   s,
		dedupe: state.NewDedupe(resend, f.clock),
		health: set.Health,
	}
	if st.stages, err = f.newSinkStages(sc, cfg); err != nil { // aggregate.go
		_ = s.Close()
		return nil, fmt.Errorf("sink %s: %w", sc.Name, err)
	}
	rc := sc.Runner
	if cfg.DataDir != "" {
		if err := f.openDurable(st, &rc, cfg.DataDir); err != nil { // durable.go
			_ = s.Close()
			return nil, err
		}
	}
	rc.OnDrop = st.dedupe.Reset // dedupe_reset.go: a dropped request was not sent
	st.runner = sinks.NewRunner(s, rc, set, f.skm)
	return st, nil
}

// buildSource builds a static source or a discovered target. It returns
// config.ErrTargetDropped when the source's relabel_configs drop it.
func (f *Forwarder) buildSource(sc config.SourceConfig) (*source, error) {
	tc, tg, err := sc.TargetConfig(f.userAgent)
	if err != nil {
		return nil, err // names the source, or is ErrTargetDropped
	}
	tc.Rewriter = metricRewriter(sc.MetricRelabelConfigs) // pipeline.go
	tc.BatchPool = f.batches
	tc.BodyBuffers = f.bodies
	t, err := scrape.NewTarget(tc)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", sc.Name, err)
	}
	src := &source{
		name:   sc.Name,
		cfg:    sc,
		target: t,
		pipe:   newPipe(sc.MetricRelabelConfigs, sc.ScrapeLimits(), sc.TargetSeries, tc.TargetLabels),
		every:  tg.Interval,
		stale:  state.NewStaleness(),
		log:    f.log.With(zap.String("source", sc.Name)),
	}
	src.setRoutes(f.routesFor(sc))
	return src, nil
}

// routesFor resolves a source's sinks (all sinks when it names none).
func (f *Forwarder) routesFor(sc config.SourceConfig) []*sinkState {
	var out []*sinkState
	if len(sc.Sinks) == 0 {
		for _, c := range f.cfg.Sinks {
			if st, ok := f.sinks[c.Name]; ok {
				out = append(out, st)
			}
		}
		return out
	}
	for _, n := range sc.Sinks {
		if st, ok := f.sinks[n]; ok {
			out = append(out, st)
		}
	}
	return out
}

func (f *Forwarder) closeAll() {
	for _, st := range f.sinks {
		_ = st.sink.Close()
		st.release()
	}
	for _, sj := range f.sources {
		sj.src.target.Close()
	}
}

// Run serves self-metrics, starts the sinks and the scheduler, and blocks
// until ctx ends; then it shuts down in order: stop scraping, drain the sink
// queues for up to shutdown_timeout, account for what is left, close sinks.
// ready, if not nil, is called once everything is running (systemd READY).
func (f *Forwarder) Run(ctx context.Context, ready func()) error {
	life, cancelLife := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelLife()
	f.mu.Lock()
	f.life = life
	f.logCredentialProblemsLocked()
	if f.cfg.Server.Listen != "" {
		srv, err := f.listenLocked() // status_server.go
		if err != nil {
			f.mu.Unlock()
			f.closeAll()
			return err
		}
		f.srv = srv
		go srv.serve()
		f.log.Info("self-metrics listening", zap.String("url", srv.URL()+"/metrics"))
		defer f.sampleStatus(life)()
	}
	pluginCtx, stopPlugin := context.WithCancel(ctx)
	pluginDone, err := f.servePluginLocked(pluginCtx)
	defer func() { stopPlugin(); <-pluginDone }()
	if err != nil {
		f.mu.Unlock()
		f.closeAll()
		if f.srv != nil {
			f.srv.shutdown(ctx)
		}
		return err
	}
	sched := newScheduler(f.clock, f.cfg.ShutdownTimeout)
	f.sched = sched
	for _, st := range f.sinks {
		st.runner.Start(life)
	}
	for _, sj := range f.sources {
		if err := f.schedule(sj); err != nil {
			f.mu.Unlock()
			_ = sched.shutdown()
			f.closeAll()
			return err
		}
	}
	f.syncAggregateTickLocked() // aggregate.go
	if err := f.scheduleHeartbeat(); err != nil {
		f.mu.Unlock()
		_ = sched.shutdown()
		f.closeAll()
		return err
	}
	for _, r := range f.sdRunners {
		f.runSDLocked(r)
	}
	f.beat.Store(f.clock.Now().UnixNano())
	sched.start()
	nSources, nSinks := len(f.sources), len(f.sinks) // discovery loops change f.sources
	f.mu.Unlock()
	f.log.Info("promfwd running", zap.Int("sources", nSources), zap.Int("sinks", nSinks))
	if ready != nil {
		ready()
	}

	<-ctx.Done()
	f.stopSDs()
	f.shutdown()
	return nil
}

func (f *Forwarder) schedule(sj *sourceJob) error {
	src := sj.src
	interval := src.every
	gated := f.toggle != nil && dockerGated(&src.cfg)
	sj.handle = f.sched.add(src.name, interval, startOffset(src.name, interval), func(ctx context.Context) {
		if gated && !f.toggle.Enabled() {
			return // the Docker daemon has not started (or has stopped) metrics
		}
		sj.run.Lock()
		defer sj.run.Unlock()
		if !sj.gone {
			f.scrapeOnce(ctx, src)
		}
	})
	return nil
}

func (f *Forwarder) shutdown() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log.Info("shutting down: stopping scrapes")
	if err := f.sched.shutdown(); err != nil {
		f.log.Warn("scheduler did not stop cleanly", zap.Error(err))
	}
	deadline, cancel := context.WithTimeout(context.Background(), f.cfg.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, st := range f.sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.stopSink(deadline, st)
		}()
	}
	wg.Wait()
	f.retired.Wait()
	for _, sj := range f.sources {
		sj.src.target.Close()
	}
	if f.srv != nil {
		f.srv.shutdown(deadline)
	}
	f.log.Info("shutdown complete")
}

// stopSink drains one sink within ctx and accounts for what could not be
// delivered in time.
func (f *Forwarder) stopSink(ctx context.Context, st *sinkState) {
	st.finalFlush()                        // aggregate.go: open windows, without data_dir
	st.runner.Discard(st.runner.Stop(ctx)) // nothing to discard with a disk queue
	st.release()                           // durable.go: close the disk queue, if any
	if err := st.sink.Close(); err != nil {
		f.log.Warn("close sink", zap.String("sink", st.name), zap.Error(err))
	}
}

// notReady lists what keeps the service from being ready.
func (f *Forwarder) notReady() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	if f.sched == nil {
		out = append(out, "scheduler not started")
	}
	for name, st := range f.sinks {
		if ok, reason, _ := st.health.Status(); !ok {
			out = append(out, fmt.Sprintf("sink %s unhealthy: %s", name, reason))
		}
		if !st.runner.Delivering() {
			out = append(out, fmt.Sprintf("sink %s not delivering: no successful delivery for %s while data waits", name, sinks.DefaultStallAfter))
		}
	}
	return append(out, f.credentialProblemsLocked()...)
}
