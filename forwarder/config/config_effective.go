package config

import (
	"github.com/promfwd/promfwd/sinks"
)

// effective returns a copy of c whose sinks spell out every delivery default
// (sinks.DefaultRunnerConfig) and the resend_after they inherit from dedupe,
// so that `promfwd check` shows what will run. The loaded Config keeps its
// zero values and nil resend_after: a sink that inherits dedupe.resend_after
// keeps following it across reloads.
func (c *Config) effective() *Config {
	out := *c
	out.Sinks = make([]SinkConfig, len(c.Sinks))
	d := sinks.DefaultRunnerConfig()
	for i, sc := range c.Sinks {
		r := &sc.Runner
		if r.MaxBatchSamples == 0 {
			r.MaxBatchSamples = d.MaxBatchSamples
		}
		if r.FlushInterval == 0 {
			r.FlushInterval = d.FlushInterval
		}
		if r.MaxPendingSamples == 0 {
			r.MaxPendingSamples = d.MaxPendingSamples
		}
		if r.MaxQueueBytes == 0 {
			r.MaxQueueBytes = d.MaxQueueBytes
		}
		if r.Concurrency == 0 {
			r.Concurrency = d.Concurrency
		}
		if r.RetryWaitMax == 0 {
			r.RetryWaitMax = d.RetryWaitMax
		}
		if sc.ResendAfter == nil {
			resend := sc.EffectiveResendAfter(c.Dedupe) // 0 for remote_write
			sc.ResendAfter = &resend
		}
		out.Sinks[i] = sc
	}
	return &out
}
