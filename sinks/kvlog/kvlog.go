// Package kvlog adapts a zap logger to the (msg, keysAndValues...) logger
// interfaces of go-retryablehttp (LeveledLogger) and gocron (Logger), so both
// libraries log through the one logger built in main.
package kvlog

import "go.uber.org/zap"

// Logger satisfies retryablehttp.LeveledLogger and gocron.Logger.
type Logger struct {
	s           *zap.SugaredLogger
	infoAsDebug bool
}

// New wraps l. A nil l yields a no-op logger.
func New(l *zap.Logger) Logger {
	if l == nil {
		l = zap.NewNop()
	}
	return Logger{s: l.WithOptions(zap.AddCallerSkip(1)).Sugar()}
}

// NewInfoAsDebug wraps l and logs the library's Info lines at debug level:
// gocron announces "new scheduler created" and "scheduler started" at info,
// which say nothing an operator needs.
func NewInfoAsDebug(l *zap.Logger) Logger {
	k := New(l)
	k.infoAsDebug = true
	return k
}

// Debug logs at debug level.
func (l Logger) Debug(msg string, kv ...any) { l.s.Debugw(msg, kv...) }

// Info logs at info level (debug for NewInfoAsDebug).
func (l Logger) Info(msg string, kv ...any) {
	if l.infoAsDebug {
		l.s.Debugw(msg, kv...)
		return
	}
	l.s.Infow(msg, kv...)
}

// Warn logs at warn level.
func (l Logger) Warn(msg string, kv ...any) { l.s.Warnw(msg, kv...) }

// Error logs at error level.
func (l Logger) Error(msg string, kv ...any) { l.s.Errorw(msg, kv...) }
