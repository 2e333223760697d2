package discovery

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// DefaultLogEvery is how often a failing discoverer may log again while it
// keeps failing, or flaps between failing and working.
const DefaultLogEvery = 10 * time.Minute

// gate decides which of one discoverer's failures are worth a log line:
// the first, then at most one per every; and one line when it works again
// after a logged failure. Prometheus' discoverers log every failed refresh
// (and count it in prometheus_sd_refresh_failures_total); a discovery
// server that is down for an hour must not write 60 identical lines.
type gate struct {
	clock clockwork.Clock
	every time.Duration

	mu       sync.Mutex
	lastFail time.Time // when a failure was last logged
	logged   bool      // a failure was logged and no recovery since
}

func (g *gate) failure() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock.Now()
	if !g.lastFail.IsZero() && now.Sub(g.lastFail) < g.every {
		return false
	}
	g.lastFail, g.logged = now, true
	return true
}

func (g *gate) success() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	ok := g.logged
	g.logged = false
	return ok
}

// zapHandler is the slog.Handler Prometheus' discoverers log through: warnings
// and errors pass the gate and become zap warnings; the rest are debug.
type zapHandler struct {
	log    *zap.Logger
	gate   *gate
	prefix string // the open groups, "a.b."
}

var _ slog.Handler = (*zapHandler)(nil)

func (h *zapHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.log.Core().Enabled(zapcore.DebugLevel)
}

func (h *zapHandler) Handle(_ context.Context, r slog.Record) error {
	fields := make([]zap.Field, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		fields = h.appendAttr(fields, a)
		return true
	})
	if r.Level < slog.LevelWarn {
		h.log.Debug(r.Message, fields...)
		return nil
	}
	if !h.gate.failure() {
		return nil // counted in prometheus_sd_refresh_failures_total and the mechanism's metrics
	}
	fields = append(fields, zap.Duration("quiet_for", h.gate.every))
	h.log.Warn("discovery failing, keeping the last good targets: "+r.Message, fields...)
	return nil
}

func (h *zapHandler) appendAttr(fields []zap.Field, a slog.Attr) []zap.Field {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		sub := &zapHandler{log: h.log, gate: h.gate, prefix: h.prefix + a.Key + "."}
		for _, ga := range v.Group() {
			fields = sub.appendAttr(fields, ga)
		}
		return fields
	}
	if a.Key == "" {
		return fields
	}
	if err, ok := v.Any().(error); ok {
		return append(fields, zap.NamedError(h.prefix+a.Key, err))
	}
	return append(fields, zap.Any(h.prefix+a.Key, v.Any()))
}

func (h *zapHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	fields := make([]zap.Field, 0, len(attrs))
	for _, a := range attrs {
		fields = h.appendAttr(fields, a)
	}
	return &zapHandler{log: h.log.With(fields...), gate: h.gate, prefix: h.prefix}
}

func (h *zapHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &zapHandler{log: h.log, gate: h.gate, prefix: h.prefix + name + "."}
}
