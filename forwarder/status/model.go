package status

import "time"

// Source is what the pages read. Each call returns a fresh snapshot the
// caller owns; implementations copy state under their own locks.
type Source interface {
	Overview() Overview
	Targets() []Target
	Sinks() []Sink
	// Config is the effective config as `promfwd check` prints it (secrets
	// shown as <secret>).
	Config() (string, error)
}

// Overview is the / page: what runs, since when, from which config.
type Overview struct {
	Version       string        `json:"version"`
	StartTime     time.Time     `json:"start_time"`
	UptimeSeconds float64       `json:"uptime_seconds"`
	ConfigFile    string        `json:"config_file"`
	ConfigLoaded  time.Time     `json:"config_loaded"`
	LastReload    *Reload       `json:"last_reload,omitempty"`
	SourcesUp     int           `json:"sources_up"`
	SourcesDown   int           `json:"sources_down"`
	SourcesNew    int           `json:"sources_pending"`
	Sinks         []SinkSummary `json:"sinks"`
}

// Reload is the outcome of the last SIGHUP reload.
type Reload struct {
	Time  time.Time `json:"time"`
	OK    bool      `json:"ok"`
	Error string    `json:"error,omitempty"`
}

// SinkSummary is one sink's line on the overview.
type SinkSummary struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// Target states.
const (
	StateUp      = "up"
	StateDown    = "down"
	StatePending = "pending" // not scraped yet
)

// Target is one scraped endpoint: a static source or one file_sd target.
type Target struct {
	Name   string `json:"name"`
	Source string `json:"source"` // the configured source (the file_sd source for its targets)
	Kind   string `json:"kind"`   // static, file_sd or docker_plugin
	URL    string `json:"url"`    // credentials removed, query values <secret>
	Shard  string `json:"shard,omitempty"`
	State  string `json:"state"`

	LastScrape      time.Time `json:"last_scrape,omitzero"`
	DurationSeconds float64   `json:"last_duration_seconds"`
	NextScrape      time.Time `json:"next_scrape,omitzero"`
	IntervalSeconds float64   `json:"interval_seconds"`
	Samples         int       `json:"samples"`
	Bytes           int64     `json:"bytes"`
	// Conditional is the conditional-GET outcome of the last scrape:
	// "not_modified" (304), "identical_body", "max_age" (not asked: the
	// last answer is fresh) or "" (a full, new answer).
	Conditional string    `json:"conditional,omitempty"`
	FreshUntil  time.Time `json:"max_age_until,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	ErrorReason string    `json:"error_reason,omitempty"`
	Labels      []Label   `json:"labels"`
}

// Label is one target label.
type Label struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Sink states.
const (
	SinkHealthy       = "healthy"
	SinkRetrying      = "retrying"       // the destination fails; requests wait and are retried
	SinkUnhealthy     = "unhealthy"      // 401/403: credentials refused
	SinkNotDelivering = "not_delivering" // nothing delivered for the stall time while data waits
)

// Sink is one sink's delivery state.
type Sink struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`

	LastSuccess         time.Time `json:"last_success,omitzero"`
	LastStatus          int       `json:"last_status,omitempty"`
	LastError           string    `json:"last_error,omitempty"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	FailingSince        time.Time `json:"failing_since,omitzero"`
	BackoffSeconds      float64   `json:"backoff_seconds,omitempty"`
	RetryAfterSeconds   float64   `json:"last_retry_after_seconds,omitempty"`

	Queue Queue `json:"queue"`

	SamplesSent   float64            `json:"samples_sent"`
	Dropped       map[string]float64 `json:"dropped_samples"`
	LastRejection *Rejection         `json:"last_rejection,omitempty"`
	// AcksOutstanding is the HEC requests posted and awaiting their
	// indexer acknowledgement; nil for sinks without acks.
	AcksOutstanding *int `json:"acks_outstanding,omitempty"`
	// DedupeHitRatio is skipped / offered samples; nil with dedupe off or
	// before anything was offered.
	DedupeHitRatio *float64 `json:"dedupe_hit_ratio,omitempty"`
	DedupeOffered  int64    `json:"dedupe_offered"`
	DedupeSkipped  int64    `json:"dedupe_skipped"`

	History []Point `json:"history"`
}

// Queue is a sink's backlog.
type Queue struct {
	Requests         int     `json:"requests"`
	Bytes            int64   `json:"bytes"`
	Samples          int     `json:"samples"`
	MemoryRequests   int     `json:"memory_requests"`
	MemoryBytes      int64   `json:"memory_bytes"`
	DiskRequests     int     `json:"disk_requests"`
	DiskBytes        int64   `json:"disk_bytes"`
	InFlight         int     `json:"in_flight"`
	PendingSamples   int     `json:"pending_samples"`
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
}

// Rejection is the last request the destination refused for good.
type Rejection struct {
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
}
