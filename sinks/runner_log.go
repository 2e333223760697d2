package sinks

import (
	"sync"
	"time"
)

// logLimiter lets one log line through per interval and counts the lines it
// held back, so a failure repeated every millisecond costs one line a minute.
type logLimiter struct {
	mu         sync.Mutex
	interval   time.Duration
	now        func() time.Time
	last       time.Time
	logged     bool
	suppressed int
}

func newLogLimiter(interval time.Duration, now func() time.Time) *logLimiter {
	return &logLimiter{interval: interval, now: now}
}

// allow reports whether a line may be written now and, if so, how many
// events were suppressed since the previous line.
func (l *logLimiter) allow() (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.logged && now.Sub(l.last) < l.interval {
		l.suppressed++
		return false, 0
	}
	l.logged, l.last = true, now
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}

// flush returns and resets the count of events held back since the last
// line, for a final summary line at shutdown.
func (l *logLimiter) flush() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.suppressed
	l.suppressed = 0
	return n
}
