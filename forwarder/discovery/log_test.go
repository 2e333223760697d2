package discovery

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestZapHandler: Prometheus' slog records reach zap with their attributes
// (groups as dotted keys, errors as errors); info and debug become debug,
// warnings and errors pass the failure gate.
func TestZapHandler(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	clk := clockwork.NewFakeClock()
	l := slog.New(&zapHandler{log: zap.New(core), gate: &gate{clock: clk, every: time.Minute}})
	l = l.With("mech", "http").WithGroup("g")
	l.Info("refreshed", "n", 3)
	l.Error("Unable to refresh target groups", "err", errors.New("boom"))
	l.Error("Unable to refresh target groups", "err", errors.New("boom again"))
	all := logs.All()
	if len(all) != 2 {
		t.Fatalf("got %d entries, want 2 (the repeated error is gated): %v", len(all), all)
	}
	if all[0].Level != zapcore.DebugLevel || all[0].ContextMap()["g.n"] != int64(3) || all[0].ContextMap()["mech"] != "http" {
		t.Errorf("info record = %s %v, want debug with mech and g.n", all[0].Level, all[0].ContextMap())
	}
	if all[1].Level != zapcore.WarnLevel || all[1].ContextMap()["g.err"] != "boom" {
		t.Errorf("error record = %s %v, want a warning with g.err", all[1].Level, all[1].ContextMap())
	}
}
