package config

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"

	"github.com/promfwd/promfwd/sinks/datadog"
	"github.com/promfwd/promfwd/sinks/hec"
	"github.com/promfwd/promfwd/sinks/remotewrite"
)

// Upper bounds of the sizing keys (issue 21.12). Each is far above any
// sensible setting and below the point where the value itself exhausts the
// machine: concurrency 1,000,000 was accepted and reached 3.2 GB in 5 s.
// Each bound is documented in the README next to the key.
const (
	MaxConcurrency       = 256 // sender goroutines (and disk queue lanes) per sink; remote_write's shards cap
	MaxBatchSamplesBound = 1_000_000
	MaxPendingSamples    = 50_000_000 // ~100 bytes each: a few GiB of intake
	MaxMemoryQueueBytes  = 16 << 30   // without data_dir the queue is memory
	MaxDiskQueueBytes    = 1 << 40
	MaxRequestBytes      = 800 << 20 // hec: Splunk's default max_content_length (stdout has its own 64 MiB cap)
	MaxEventsPerRequest  = 1_000_000
	MaxSamplesPerSend    = 1_000_000
	MaxFlushInterval     = 5 * time.Minute
	MaxBackoffBound      = time.Hour
	MaxHTTPTimeout       = 10 * time.Minute
	MaxInterval          = 24 * time.Hour // scrape intervals, file_sd refresh
	MaxRetention         = 30 * 24 * time.Hour
	MaxShutdownTimeout   = time.Hour
)

// bound is one checked key: its path under the document, and whether its
// value is out of range (with the message to show).
type bound struct {
	keys []any
	bad  bool
	msg  string
}

func atMostInt(v, hi int64, keys ...any) bound {
	return bound{keys: keys, bad: v > hi, msg: fmt.Sprintf("%d is above the maximum %d", v, hi)}
}

func atMostDur(v, hi time.Duration, keys ...any) bound {
	return bound{keys: keys, bad: v > hi, msg: fmt.Sprintf("%s is above the maximum %s", model.Duration(v), model.Duration(hi))}
}

func atMostBytes(v, hi int64, keys ...any) bound {
	return bound{keys: keys, bad: v > hi, msg: fmt.Sprintf("%s is above the maximum %s", ByteSize(v), ByteSize(hi))}
}

// validateBounds checks the upper bounds of every sizing key; the lower
// bounds are checked where the keys are (validateRunner, the sinks'
// Validate).
func (c *Config) validateBounds(v validator) error {
	bs := []bound{
		atMostDur(c.ShutdownTimeout, MaxShutdownTimeout, "shutdown_timeout"),
		atMostDur(c.Global.ScrapeInterval, MaxInterval, "global", "scrape_interval"),
		atMostDur(c.Dedupe.ResendAfter, MaxRetention, "dedupe", "resend_after"),
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		bs = append(bs, atMostDur(s.Interval, MaxInterval, "sources", i, "interval"))
		for j, c := range s.FileSDConfigs {
			if c == nil {
				continue
			}
			bs = append(bs, atMostDur(c.RefreshInterval, MaxInterval, "sources", i, "file_sd_configs", j, "refresh_interval"))
		}
		for j, c := range s.HTTPSDConfigs {
			if c == nil {
				continue
			}
			bs = append(bs, atMostDur(time.Duration(c.RefreshInterval), MaxInterval, "sources", i, "http_sd_configs", j, "refresh_interval"))
		}
		for j, c := range s.DNSSDConfigs {
			if c == nil {
				continue
			}
			bs = append(bs, atMostDur(time.Duration(c.RefreshInterval), MaxInterval, "sources", i, "dns_sd_configs", j, "refresh_interval"))
		}
		for j, c := range s.ConsulSDConfigs {
			if c == nil {
				continue
			}
			bs = append(bs, atMostDur(time.Duration(c.RefreshInterval), MaxInterval, "sources", i, "consul_sd_configs", j, "refresh_interval"))
		}
	}
	for i := range c.Sinks {
		bs = append(bs, sinkBounds(c.Sinks[i], i, c.DataDir != "")...)
	}
	for _, b := range bs {
		if b.bad {
			return v.errAt(b.msg, b.keys...)
		}
	}
	return nil
}

func sinkBounds(s SinkConfig, i int, durable bool) []bound {
	r := s.Runner
	queueMax := int64(MaxMemoryQueueBytes)
	if durable {
		queueMax = MaxDiskQueueBytes
	}
	bs := []bound{
		atMostInt(int64(r.Concurrency), MaxConcurrency, "sinks", i, "concurrency"),
		atMostInt(int64(r.MaxBatchSamples), MaxBatchSamplesBound, "sinks", i, "max_batch_samples"),
		atMostInt(int64(r.MaxPendingSamples), MaxPendingSamples, "sinks", i, "max_pending_samples"),
		atMostBytes(r.MaxQueueBytes, queueMax, "sinks", i, "max_queue_bytes"),
		atMostDur(r.FlushInterval, MaxFlushInterval, "sinks", i, "flush_interval"),
		atMostDur(r.RetryWaitMax, MaxBackoffBound, "sinks", i, "max_backoff"),
	}
	if s.ResendAfter != nil {
		bs = append(bs, atMostDur(*s.ResendAfter, MaxRetention, "sinks", i, "resend_after"))
	}
	if r.MaxPendingSamples > 0 && r.MaxBatchSamples > r.MaxPendingSamples {
		bs = append(bs, bound{keys: []any{"sinks", i, "max_batch_samples"}, bad: true,
			msg: fmt.Sprintf("%d is above max_pending_samples %d: a batch could never fill", r.MaxBatchSamples, r.MaxPendingSamples)})
	}
	switch c := s.Settings.(type) {
	case *hec.Config:
		bs = append(bs,
			atMostBytes(int64(c.MaxRequestBytes), MaxRequestBytes, "sinks", i, "max_request_bytes"),
			atMostInt(int64(c.MaxEvents), MaxEventsPerRequest, "sinks", i, "max_events"),
			atMostDur(time.Duration(c.Timeout), MaxHTTPTimeout, "sinks", i, "timeout"),
		)
		if c.Ack.Enabled {
			bs = append(bs,
				atMostDur(time.Duration(c.Ack.PollInterval), MaxFlushInterval, "sinks", i, "ack", "poll_interval"),
				atMostDur(time.Duration(c.Ack.Timeout), MaxInterval, "sinks", i, "ack", "timeout"),
			)
		}
	case *datadog.Config:
		bs = append(bs,
			atMostDur(c.Timeout, MaxHTTPTimeout, "sinks", i, "timeout"),
			atMostDur(c.Interval, MaxInterval, "sinks", i, "interval"),
			atMostDur(c.CounterStateTTL, MaxRetention, "sinks", i, "counter_state_ttl"),
		)
	case *remotewrite.Config:
		bs = append(bs,
			atMostInt(int64(c.MaxSamplesPerSend), MaxSamplesPerSend, "sinks", i, "max_samples_per_send"),
			atMostDur(c.Timeout, MaxHTTPTimeout, "sinks", i, "timeout"),
		)
	}
	return bs
}
