package config

import (
	"fmt"
	"strings"

	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/datadog"
	"github.com/promfwd/promfwd/sinks/hec"
	"github.com/promfwd/promfwd/sinks/remotewrite"
	"github.com/promfwd/promfwd/sinks/stdout"
)

// Sink types are wired here explicitly, no init() registry. Adding one is
// three lines: a name in SinkTypes and a case in lookupSinkType.

// SinkTypes lists the sink types this build knows, in the order shown in
// error messages.
func SinkTypes() []string {
	return []string{"hec", "datadog", "remote_write", "stdout"}
}

func lookupSinkType(name string) (sinkType, bool) {
	switch name {
	case "hec":
		return sinkTypeOf(hec.DefaultConfig, func(c hec.Config, set sinks.Settings) (*hec.Sink, error) {
			return hec.New(c, set)
		}), true
	case "datadog":
		return sinkTypeOf(datadog.DefaultConfig, datadog.New), true
	case "remote_write":
		return sinkTypeOf(remotewrite.DefaultConfig, remotewrite.New), true
	case "stdout":
		return sinkTypeOf(stdout.DefaultConfig, stdout.New), true
	}
	return sinkType{}, false
}

// sinkType is the type-erased view of one sink package's
// DefaultConfig / (*Config).Validate / New trio.
type sinkType struct {
	newConfig func() any // a pointer to a fresh DefaultConfig()
	validate  func(cfg any) error
	build     func(cfg any, set sinks.Settings) (sinks.Sink, error)
}

func sinkTypeOf[C any, PC interface {
	*C
	Validate() error
}, S sinks.Sink](defaults func() C, build func(C, sinks.Settings) (S, error)) sinkType {
	return sinkType{
		newConfig: func() any {
			c := defaults()
			return &c
		},
		validate: func(cfg any) error {
			c, ok := cfg.(*C)
			if !ok {
				return fmt.Errorf("settings are %T, want %T", cfg, c)
			}
			return PC(c).Validate()
		},
		build: func(cfg any, set sinks.Settings) (sinks.Sink, error) {
			c, ok := cfg.(*C)
			if !ok {
				return nil, fmt.Errorf("settings are %T, want %T", cfg, c)
			}
			s, err := build(*c, set)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	}
}

// BuildSink constructs the sink a SinkConfig describes. sc.Settings must be
// the pointer to the type's Config that Load decoded.
func BuildSink(sc SinkConfig, set sinks.Settings) (sinks.Sink, error) {
	st, ok := lookupSinkType(sc.Type)
	if !ok {
		return nil, fmt.Errorf("sink %s: unknown type %q (known types: %s)", sc.Name, sc.Type, joinTypes())
	}
	s, err := st.build(sc.Settings, set)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", sc.Name, err)
	}
	return s, nil
}

func joinTypes() string { return strings.Join(SinkTypes(), ", ") }
