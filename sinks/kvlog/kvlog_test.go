package kvlog

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestInfoAsDebug: gocron's "scheduler created/started" lines go to debug;
// warnings and errors keep their level.
func TestInfoAsDebug(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := NewInfoAsDebug(zap.New(core))
	l.Info("gocron: new scheduler created")
	l.Warn("w")
	l.Error("e")
	New(zap.New(core)).Info("plain")
	want := []zapcore.Level{zapcore.DebugLevel, zapcore.WarnLevel, zapcore.ErrorLevel, zapcore.InfoLevel}
	for i, e := range logs.All() {
		if e.Level != want[i] {
			t.Errorf("line %d %q at %v, want %v", i, e.Message, e.Level, want[i])
		}
	}
}
