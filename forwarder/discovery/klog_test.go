package discovery

import (
	"errors"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"k8s.io/klog/v2"
)

// TestKlogSink: client-go's klog errors become one zap warning, then at
// most one per DefaultLogEvery; its info lines are debug lines and its
// verbose levels are dropped.
func TestKlogSink(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	clock := clockwork.NewFakeClock()
	l := logr.New(newKlogSink(zap.New(core), clock)).WithName("reflector")
	for range 5 {
		l.Error(errors.New("connection refused"), "Failed to watch", "resource", "pods")
	}
	l.Info("Warning: watch ended with error")
	l.V(4).Info("trace")
	if logs.Len() != 1 {
		t.Fatalf("%d log lines, want 1: %v", logs.Len(), logs.All())
	}
	e := logs.All()[0]
	if e.Level != zapcore.WarnLevel || e.Message != "kubernetes API client: reflector: Failed to watch" ||
		e.ContextMap()["resource"] != "pods" || e.ContextMap()["error"] != "connection refused" {
		t.Errorf("logged %s %q %v", e.Level, e.Message, e.ContextMap())
	}
	clock.Advance(DefaultLogEvery)
	l.Error(errors.New("connection refused"), "Failed to watch")
	if logs.Len() != 2 {
		t.Errorf("after %s: %d lines, want 2", DefaultLogEvery, logs.Len())
	}

	debugCore, debugLogs := observer.New(zapcore.DebugLevel)
	d := logr.New(newKlogSink(zap.New(debugCore), clock))
	d.Info("Warning: watch ended with error")
	d.V(2).Info("trace")
	if debugLogs.Len() != 1 || debugLogs.All()[0].Level != zapcore.DebugLevel {
		t.Errorf("debug logger got %v, want the level-0 line only, at debug", debugLogs.All())
	}
}

// TestRouteKlog: with RouteKlog, klog's own calls (as client-go makes
// them) reach the zap logger instead of stderr.
func TestRouteKlog(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	RouteKlog(zap.New(core))
	t.Cleanup(klog.ClearLogger)
	klog.ErrorS(errors.New("boom"), "Unhandled Error", "at", time.Unix(0, 0).UTC())
	klog.Background().Error(errors.New("boom"), "contextual") // gated: the first one passed
	if logs.Len() != 1 || logs.All()[0].Message != "kubernetes API client: Unhandled Error" {
		t.Errorf("logs %v", logs.All())
	}
}
