package dockerplugin

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Toggle is the Handler the forwarder uses: it records whether the daemon's
// metrics socket may be scraped (Enabled, cheap enough to check before every
// scrape) and calls the owner's callbacks on each change. Calls that do not
// change the state (a second StartMetrics) do not call back.
//
// Stopping only pauses scraping: samples already handed to the sinks stay
// queued and are delivered, so onStop must pause the source, never flush or
// close sinks.
type Toggle struct {
	mu      sync.Mutex // serializes transitions and their callbacks
	enabled atomic.Bool
	onStart func(context.Context) error
	onStop  func(context.Context) error
}

// NewToggle returns a disabled Toggle. Either callback may be nil.
func NewToggle(onStart, onStop func(context.Context) error) *Toggle {
	return &Toggle{onStart: onStart, onStop: onStop}
}

// Enabled reports whether the daemon said its metrics socket is available.
func (t *Toggle) Enabled() bool { return t.enabled.Load() }

// StartMetrics enables scraping, then calls onStart (which may scrape at
// once and will see Enabled() == true). If onStart fails, scraping stays
// disabled and the error goes back to the daemon.
func (t *Toggle) StartMetrics(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.enabled.Load() {
		return nil
	}
	t.enabled.Store(true)
	if t.onStart == nil {
		return nil
	}
	if err := t.onStart(ctx); err != nil {
		t.enabled.Store(false)
		return fmt.Errorf("dockerplugin: start metrics: %w", err)
	}
	return nil
}

// StopMetrics disables scraping first (the socket is going away whatever
// onStop says), then calls onStop.
func (t *Toggle) StopMetrics(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.enabled.Load() {
		return nil
	}
	t.enabled.Store(false)
	if t.onStop == nil {
		return nil
	}
	if err := t.onStop(ctx); err != nil {
		return fmt.Errorf("dockerplugin: stop metrics: %w", err)
	}
	return nil
}

var _ Handler = (*Toggle)(nil)
