package forwarder

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/promfwd/promfwd/forwarder/status"
	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/hec"
)

// statusFeed holds what the status pages show beyond the running state:
// start time, config load and reload outcomes, per-sink dedupe counts and
// the chart history. Its fields have their own synchronisation so the hot
// path (scrapes, deliveries) never takes the forwarder's lock for it.
type statusFeed struct {
	version  string
	start    time.Time
	loadedAt atomic.Pointer[time.Time]
	reload   atomic.Pointer[status.Reload]
	dedupe   sync.Map // sink name -> *dedupeCount
	hist     *status.History
	every    time.Duration // history sampling step
}

type dedupeCount struct{ offered, skipped atomic.Int64 }

// DefaultStatusSampleEvery is the step of the sink charts' history.
const DefaultStatusSampleEvery = 10 * time.Second

func newStatusFeed(version string, now time.Time, every time.Duration) *statusFeed {
	if every <= 0 {
		every = DefaultStatusSampleEvery
	}
	fd := &statusFeed{version: version, start: now, hist: status.NewHistory(0), every: every}
	fd.loadedAt.Store(&now)
	return fd
}

// counted records samples offered to a sink's dedupe and how many it skipped.
func (fd *statusFeed) counted(sink string, offered, skipped int) {
	v, ok := fd.dedupe.Load(sink)
	if !ok {
		v, _ = fd.dedupe.LoadOrStore(sink, &dedupeCount{})
	}
	c := v.(*dedupeCount)
	c.offered.Add(int64(offered))
	c.skipped.Add(int64(skipped))
}

// ReportReload records the outcome of a reload attempt for the overview
// page; Reload calls it, and so does a caller whose new config did not
// even load.
func (f *Forwarder) ReportReload(err error) {
	now := f.clock.Now()
	r := &status.Reload{Time: now, OK: err == nil}
	if err != nil {
		r.Error = err.Error()
	} else {
		f.feed.loadedAt.Store(&now)
	}
	f.feed.reload.Store(r)
}

// sourceStat is what a source keeps for the status pages.
type sourceStat struct {
	obs    atomic.Pointer[targetObs]
	labels atomic.Pointer[[]status.Label] // computed once; a source's config never changes
}

// labels returns the target labels, computing them on first use. The
// slice is shared by every snapshot and must not be modified.
func (s *source) labels() []status.Label {
	if l := s.stat.labels.Load(); l != nil {
		return *l
	}
	l := targetLabels(s.pipe.tl)
	s.stat.labels.Store(&l)
	return l
}

// targetObs is what the last run of a source's job saw.
type targetObs struct {
	at       time.Time
	dur      time.Duration
	samples  int
	bytes    int64
	cond     string
	fresh    time.Time
	err      string
	reason   string
	interval time.Duration
}

// observe records a finished scrape for the status pages. cached is set
// when the last answer was reused without asking (max-age in force).
func (s *source) observe(now time.Time, res scrape.Result, cached bool) {
	o := &targetObs{at: now, dur: res.Duration, samples: len(res.Samples), bytes: res.Bytes, fresh: s.freshUntil, interval: s.cfg.Interval}
	switch {
	case res.Err != nil:
		o.err, o.reason, o.samples, o.fresh = res.Err.Error(), errorReason(res.Err), 0, time.Time{}
	case cached:
		o.cond = "max_age"
	case res.Unchanged && res.Bytes == 0:
		o.cond = "not_modified"
	case res.Unchanged:
		o.cond = "identical_body"
	}
	s.stat.obs.Store(o)
}

// statusSource adapts the forwarder to status.Source.
type statusSource struct{ f *Forwarder }

var _ status.Source = statusSource{}

func (s statusSource) Config() (string, error) {
	s.f.mu.Lock()
	cfg := s.f.cfg
	s.f.mu.Unlock()
	b, err := cfg.Redacted()
	return string(b), err
}

func (s statusSource) Overview() status.Overview {
	f := s.f
	now := f.clock.Now()
	f.mu.Lock()
	file := f.cfg.File
	f.mu.Unlock()
	o := status.Overview{
		Version: f.feed.version, StartTime: f.feed.start, UptimeSeconds: now.Sub(f.feed.start).Seconds(),
		ConfigFile: file, ConfigLoaded: *f.feed.loadedAt.Load(), LastReload: f.feed.reload.Load(),
	}
	for _, t := range s.Targets() {
		switch t.State {
		case status.StateUp:
			o.SourcesUp++
		case status.StateDown:
			o.SourcesDown++
		default:
			o.SourcesNew++
		}
	}
	for _, sk := range s.Sinks() {
		o.Sinks = append(o.Sinks, status.SinkSummary{Name: sk.Name, Type: sk.Type, State: sk.State, Reason: sk.Reason})
	}
	return o
}

// Targets copies the source list under f.mu, then reads each source's last
// observation (an atomic pointer) without any lock scraping takes.
func (s statusSource) Targets() []status.Target {
	f := s.f
	f.mu.Lock()
	jobs := make([]*sourceJob, 0, len(f.sources))
	for _, sj := range f.sources {
		jobs = append(jobs, sj)
	}
	shard := ""
	if f.cfg.Shard.Enabled() {
		shard = fmt.Sprintf("%d of %d", f.cfg.Shard.Ordinal(), f.cfg.Shard.Count)
	}
	f.mu.Unlock()
	out := make([]status.Target, 0, len(jobs))
	for _, sj := range jobs {
		src := sj.src
		t := status.Target{
			Name: src.name, Source: src.name, Kind: "static", URL: src.target.URL(), Shard: shard,
			State: status.StatePending, IntervalSeconds: src.cfg.Interval.Seconds(), Labels: src.labels(),
		}
		if sj.discoveredBy != "" {
			t.Source, t.Kind = sj.discoveredBy, sj.kind
		} else if dockerGated(&src.cfg) {
			t.Kind = "docker_plugin"
		}
		if o := src.stat.obs.Load(); o != nil {
			t.LastScrape, t.DurationSeconds, t.Samples, t.Bytes = o.at, o.dur.Seconds(), o.samples, o.bytes
			t.NextScrape, t.Conditional, t.FreshUntil = o.at.Add(o.interval), o.cond, o.fresh
			t.State = status.StateUp
			if o.err != "" {
				t.State, t.LastError, t.ErrorReason = status.StateDown, o.err, o.reason
			}
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b status.Target) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// targetLabels are the labels every sample of the target gets: the ones
// config.SourceConfig.TargetConfig computed (job, instance, labels and what
// relabel_configs added), kept by the source's pipe. Sorted already.
func targetLabels(tl scrape.Labels) []status.Label {
	out := make([]status.Label, len(tl))
	for i, l := range tl {
		out[i] = status.Label{Name: l.Name, Value: l.Value}
	}
	return out
}

func (f *Forwarder) sinkList() []*sinkState {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*sinkState, 0, len(f.sinks))
	for _, st := range f.sinks {
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b *sinkState) int { return strings.Compare(a.name, b.name) })
	return out
}

// acker is a sink with indexer acknowledgement (HEC).
type acker interface{ AcksOutstanding() (int, bool) }

var _ acker = (*hec.Sink)(nil)

func (s statusSource) Sinks() []status.Sink {
	f := s.f
	var out []status.Sink
	for _, st := range f.sinkList() {
		out = append(out, f.sinkStatus(st))
	}
	return out
}

func (f *Forwarder) sinkStatus(st *sinkState) status.Sink {
	rs := st.runner.Stats()
	healthy, why, _ := st.health.Status()
	at := st.health.Attempts()
	cond := st.runner.Condition()
	sent, dropped := st.runner.Counts()
	sk := status.Sink{
		Name: st.name, Type: st.cfg.Type, LastSuccess: rs.LastSuccess,
		LastStatus: at.LastStatus, LastError: at.LastError, ConsecutiveFailures: at.ConsecutiveFailures,
		FailingSince: at.FailingSince, RetryAfterSeconds: at.LastRetryAfter.Seconds(), BackoffSeconds: max(cond.Backoff, at.Backoff).Seconds(),
		Queue: status.Queue{
			Requests: rs.QueuedRequests, Bytes: rs.QueuedBytes, Samples: rs.QueuedSamples,
			MemoryRequests: rs.MemoryRequests, MemoryBytes: rs.MemoryBytes, DiskRequests: rs.DiskRequests, DiskBytes: rs.DiskBytes,
			InFlight: rs.InFlightRequests, PendingSamples: rs.PendingSamples, OldestAgeSeconds: rs.OldestQueuedAge.Seconds(),
		},
		SamplesSent: sent, Dropped: dropped,
	}
	if sk.LastError == "" && cond.FailError != "" && cond.Backoff > 0 {
		sk.LastError = cond.FailError
	}
	if !cond.LastReject.IsZero() {
		sk.LastRejection = &status.Rejection{Time: cond.LastReject, Message: cond.RejectMsg}
	}
	if a, ok := st.sink.(acker); ok {
		if n, on := a.AcksOutstanding(); on {
			sk.AcksOutstanding = &n
		}
	}
	if v, ok := f.feed.dedupe.Load(st.name); ok && st.dedupe.Enabled() {
		c := v.(*dedupeCount)
		sk.DedupeOffered, sk.DedupeSkipped = c.offered.Load(), c.skipped.Load()
		if sk.DedupeOffered > 0 {
			r := float64(sk.DedupeSkipped) / float64(sk.DedupeOffered)
			sk.DedupeHitRatio = &r
		}
	}
	switch {
	case !healthy:
		sk.State, sk.Reason = status.SinkUnhealthy, fmt.Sprintf("the destination refused our credentials (%s)", why)
	case !st.runner.Delivering():
		sk.State, sk.Reason = status.SinkNotDelivering, fmt.Sprintf("nothing delivered for %s while data waits", sinks.DefaultStallAfter)
	case at.ConsecutiveFailures > 0 || cond.Backoff > 0:
		sk.State, sk.Reason = status.SinkRetrying, retryReason(sk)
	default:
		sk.State = status.SinkHealthy
	}
	if sk.State != status.SinkHealthy && sk.State != status.SinkRetrying && sk.LastError != "" {
		sk.Reason += "; last error: " + sk.LastError
	}
	return sk
}

func retryReason(sk status.Sink) string {
	what := sk.LastError
	if sk.LastStatus != 0 {
		what = fmt.Sprintf("HTTP %d %s", sk.LastStatus, http.StatusText(sk.LastStatus))
	}
	r := fmt.Sprintf("retrying after %d failed attempts: %s", max(sk.ConsecutiveFailures, 1), what)
	if sk.BackoffSeconds > 0 {
		r += fmt.Sprintf("; next attempt after a backoff of %s", time.Duration(sk.BackoffSeconds*float64(time.Second)).Round(time.Millisecond))
	}
	if sk.RetryAfterSeconds > 0 {
		r += fmt.Sprintf(" (last Retry-After %s)", time.Duration(sk.RetryAfterSeconds*float64(time.Second)))
	}
	return r
}

// sampleStatus records one history point per sink every feed.every until
// ctx ends. The returned func stops it and waits.
func (f *Forwarder) sampleStatus(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := f.clock.NewTicker(f.feed.every)
		defer tick.Stop()
		for {
			totals := map[string]status.Totals{}
			for _, st := range f.sinkList() {
				sent, dropped := st.runner.Counts()
				t := status.Totals{Sent: sent, QueueBytes: st.runner.Stats().QueuedBytes}
				for _, n := range dropped {
					t.Dropped += n
				}
				totals[st.name] = t
			}
			f.feed.hist.Record(f.clock.Now(), totals)
			select {
			case <-ctx.Done():
				return
			case <-tick.Chan():
			}
		}
	}()
	return func() { cancel(); <-done }
}
