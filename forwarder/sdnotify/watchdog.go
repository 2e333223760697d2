package sdnotify

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// WatchdogInterval returns the watchdog timeout systemd expects for this
// process (WATCHDOG_USEC, honoured only when WATCHDOG_PID is unset or equals
// our PID) and whether a watchdog is enabled at all.
func (n *Notifier) WatchdogInterval() (time.Duration, bool) {
	if n == nil || n.watchdog <= 0 {
		return 0, false
	}
	return n.watchdog, true
}

// RunWatchdog sends WATCHDOG=1 every half watchdog interval for as long as
// alive() returns true, until ctx is done. When alive() returns false the
// ping is withheld, so a wedged forwarder is restarted by systemd
// (Restart=on-failure) instead of being kept alive by a healthy goroutine.
// It returns at once when no watchdog is enabled. alive is called from this
// goroutine only, once per tick.
func (n *Notifier) RunWatchdog(ctx context.Context, alive func() bool) {
	interval, ok := n.WatchdogInterval()
	if !ok {
		return
	}
	ticker := n.clock.NewTicker(interval / 2)
	defer ticker.Stop()
	// Log state changes only: one line when pings stop or fail, one when
	// they resume, never one per tick.
	withheld, failing := false, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.Chan():
		}
		if !alive() {
			if !withheld {
				n.log.Warn("withholding systemd watchdog ping: forwarder not alive",
					zap.Duration("watchdog", interval))
				withheld = true
			}
			continue
		}
		if withheld {
			n.log.Info("forwarder alive again; resuming systemd watchdog pings")
			withheld = false
		}
		if err := n.send("WATCHDOG=1"); err != nil {
			if !failing {
				n.log.Warn("systemd watchdog ping failed", zap.Error(err))
				failing = true
			}
			continue
		}
		failing = false
	}
}
