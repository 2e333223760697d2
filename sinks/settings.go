package sinks

import (
	"time"

	"go.uber.org/zap"
)

// Settings is what every sink constructor receives besides its own config:
// `New(cfg Config, set sinks.Settings) (*Sink, error)`.
type Settings struct {
	Name      string      // the sink's name from the config; a metric label
	Logger    *zap.Logger // already scoped with zap.String("sink", Name)
	UserAgent string      // "promfwd/<version>"
	Health    *Health     // shared with the Runner; pass to ClientOptions.Health
	OnRetry   func()      // pass to ClientOptions.OnRetry; may be nil
	// OnAttempt observes every HTTP attempt's duration and body bytes (for
	// promfwd_sink_request_duration_seconds and _sent_bytes_total); pass to
	// ClientOptions.OnAttempt. May be nil.
	OnAttempt func(d time.Duration, bytes int64)
	// MaxBackoff caps the wait between retries (the sink's max_backoff);
	// pass to ClientOptions.RetryWaitMax. 0 means the client's default.
	MaxBackoff time.Duration
}
