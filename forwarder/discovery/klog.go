package discovery

import (
	"fmt"

	"github.com/go-logr/logr"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
)

// RouteKlog sends client-go's own log lines to log. kubernetes_sd_configs
// runs client-go, which logs watch and list failures through klog, in
// klog's text format on stderr, once per retry; a JSON log stream would
// get foreign lines, an API server outage a line every few seconds per
// watch. Routed, klog errors pass a gate like a discoverer's (the first,
// then at most one per DefaultLogEvery) and become warnings; klog's info
// lines are debug lines. klog's logger is process-wide: main calls this
// once, before any discovery starts.
func RouteKlog(log *zap.Logger) {
	klog.SetLoggerWithOptions(logr.New(newKlogSink(log, clockwork.NewRealClock())), klog.ContextualLogger(true))
}

// klogSink is the logr.LogSink klog writes to.
type klogSink struct {
	log  *zap.Logger
	gate *gate
	name string
}

var _ logr.LogSink = (*klogSink)(nil)

func newKlogSink(log *zap.Logger, clock clockwork.Clock) *klogSink {
	return &klogSink{log: log.With(zap.String("component", "kubernetes_client")), gate: &gate{clock: clock, every: DefaultLogEvery}}
}

func (s *klogSink) Init(logr.RuntimeInfo) {}

// Enabled keeps client-go's verbose levels (traces of every request)
// out, and level 0 only when debug lines are wanted.
func (s *klogSink) Enabled(level int) bool {
	return level <= 0 && s.log.Core().Enabled(zapcore.DebugLevel)
}

func (s *klogSink) Info(level int, msg string, kv ...any) {
	if s.Enabled(level) {
		s.log.Debug(s.name+msg, fields(kv)...)
	}
}

func (s *klogSink) Error(err error, msg string, kv ...any) {
	if !s.gate.failure() {
		return
	}
	f := append(fields(kv), zap.Duration("quiet_for", s.gate.every))
	if err != nil {
		f = append(f, zap.Error(err))
	}
	s.log.Warn("kubernetes API client: "+s.name+msg, f...)
}

func (s *klogSink) WithValues(kv ...any) logr.LogSink {
	c := *s
	c.log = s.log.With(fields(kv)...)
	return &c
}

func (s *klogSink) WithName(name string) logr.LogSink {
	c := *s
	c.name = s.name + name + ": "
	return &c
}

// fields turns logr's key/value pairs into zap fields.
func fields(kv []any) []zap.Field {
	out := make([]zap.Field, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			k = fmt.Sprint(kv[i])
		}
		if err, ok := kv[i+1].(error); ok {
			out = append(out, zap.NamedError(k, err))
			continue
		}
		out = append(out, zap.Any(k, kv[i+1]))
	}
	return out
}
