package forwarder

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/config"
	"github.com/promfwd/promfwd/sinks"
)

// swapGrace bounds how long a replaced durable sink may finish the requests
// it is sending before the new one takes over its queue. Whatever is still
// unsent stays on disk and is sent by the new sink; a request cut off
// mid-flight may be sent twice (the same bound as a SIGKILL).
const swapGrace = 2 * time.Second

// checkSink builds sc's sink without opening its queue, to find settings
// errors before a reload commits to anything.
func (f *Forwarder) checkSink(sc config.SinkConfig) error {
	set := sinks.Settings{Name: sc.Name, Logger: zap.NewNop(), UserAgent: f.userAgent, Health: sinks.NewHealth(f.clock.Now)}
	s, err := config.BuildSink(sc, set)
	if err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		f.log.Debug("close checked sink", zap.String("sink", sc.Name), zap.Error(err))
	}
	return nil
}

// swapDurableSink replaces a durable sink whose settings changed. Its queue
// directory is locked by the old runner, so the old one must let go first:
// admits to it wait (swap lock) while it stops, persists its queue and
// state, and the new one opens them and restores its dedupe memory and sink
// state from the checkpoint just written. Admits then flow to the new one.
// If the new settings cannot be opened after all, the old settings are
// rebuilt so the sink keeps its data; nil if even that fails.
func (f *Forwarder) swapDurableSink(old *sinkState, sc config.SinkConfig, cfg *config.Config) *sinkState {
	old.swap.Lock()
	defer old.swap.Unlock()
	ctx, cancel := context.WithTimeout(f.life, swapGrace)
	f.stopSink(ctx, old)
	cancel()
	st, err := f.buildSink(sc, cfg)
	if err != nil {
		f.log.Error("reload: new sink settings failed after the old sink stopped; keeping the old settings",
			zap.String("sink", old.name), zap.Error(err))
		st, err = f.buildSink(old.cfg, cfg)
	}
	if err != nil {
		// Nothing left to route to: admits count as dropped at shutdown.
		f.log.Error("reload: sink could not be rebuilt; its data stays on disk for the next start",
			zap.String("sink", old.name), zap.Error(err))
		return nil
	}
	old.next = st
	f.log.Info("reload: sink rebuilt on its existing queue", zap.String("sink", old.name))
	return st
}
