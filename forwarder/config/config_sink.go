package config

import (
	"fmt"
	"reflect"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/promfwd/promfwd/forwarder/transform/aggregate"
	"github.com/promfwd/promfwd/forwarder/transform/relabel"
	"github.com/promfwd/promfwd/sinks"
)

// SinkConfig is one destination. In the file its keys are flat: the common
// delivery keys below plus the keys of its type, decoded strictly into that
// type's Config.
type SinkConfig struct {
	Name string // a metric label; [a-zA-Z0-9_.-]
	Type string // one of SinkTypes()
	// Runner holds max_batch_samples, flush_interval, max_pending_samples,
	// max_queue_bytes, concurrency and max_backoff (RetryWaitMax, also
	// passed to the sink's HTTP client); zero values mean the defaults.
	Runner sinks.RunnerConfig
	// ResendAfter overrides dedupe.resend_after for this sink; nil inherits
	// it, 0 disables dedupe for this sink.
	ResendAfter *time.Duration
	// WriteRelabelConfigs run on every sample this sink receives, before
	// its dedupe and encoding (Prometheus' own rules).
	WriteRelabelConfigs []*relabel.Config
	// Aggregate is the sink's stream aggregation rules (package aggregate).
	Aggregate []aggregate.Rule
	// Settings is the type's decoded and validated *Config (for example
	// *stdout.Config); BuildSink passes it to the type's New.
	Settings any
	// Line is where the sink is defined in the file, for messages.
	Line int
}

// sinkCommon is the YAML shape of the keys every sink has.
type sinkCommon struct {
	Name              string        `yaml:"name"`
	Type              string        `yaml:"type"`
	MaxBatchSamples   int           `yaml:"max_batch_samples,omitempty"`
	FlushInterval     time.Duration `yaml:"flush_interval,omitempty"`
	MaxPendingSamples int           `yaml:"max_pending_samples,omitempty"`
	MaxQueueBytes     ByteSize      `yaml:"max_queue_bytes,omitempty"`
	Concurrency       int           `yaml:"concurrency,omitempty"`
	// MaxBackoff caps the exponential wait between retries (default 10s):
	// after an outage ends, delivery resumes within this long.
	MaxBackoff          time.Duration     `yaml:"max_backoff,omitempty"`
	ResendAfter         *time.Duration    `yaml:"resend_after,omitempty"`
	WriteRelabelConfigs []*relabel.Config `yaml:"write_relabel_configs,omitempty"`
	// Aggregate: stream aggregation rules (forwarder/transform/aggregate).
	Aggregate []aggregate.Rule `yaml:"aggregate,omitempty"`
}

func commonSinkKeys() map[string]field {
	f, _ := structFields(reflect.TypeFor[sinkCommon]())
	return f
}

// decodeNode splits the sink's mapping into common and type-specific keys
// and decodes each strictly.
func (sc *SinkConfig) decodeNode(d *decoder, n *yaml.Node, path string) error {
	if n.Kind != yaml.MappingNode {
		return d.errf(n, path, "expected a mapping, got %s", describe(n))
	}
	commonKeys := commonSinkKeys()
	common := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	own := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	var typeNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolveAlias(n.Content[i])
		target := own
		if _, ok := commonKeys[k.Value]; ok && k.Kind == yaml.ScalarNode {
			target = common
			if k.Value == "type" {
				typeNode = resolveAlias(n.Content[i+1])
			}
		}
		target.Content = append(target.Content, n.Content[i], n.Content[i+1])
	}
	var c sinkCommon
	var errs collect
	errs.add(d.structure(common, reflect.ValueOf(&c).Elem(), path, nil))
	// What decoded is kept even when something did not, so that validation
	// (which still runs, to report every problem at once) knows the sink.
	*sc = SinkConfig{Name: c.Name, Type: c.Type, Line: n.Line}
	if c.Type == "" {
		errs.add(d.errf(n, joinPath(path, "type"), "missing sink type (known types: %s)", joinTypes()))
		return errs.err()
	}
	st, ok := lookupSinkType(c.Type)
	if !ok {
		msg := fmt.Sprintf("unknown sink type %s for sink %q (known types: %s)", d.show(typeNode), c.Name, joinTypes())
		if s := suggest(c.Type, SinkTypes()); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		errs.add(d.errf(typeNode, joinPath(path, "type"), "%s", msg))
		return errs.err()
	}
	settings := st.newConfig()
	names := make([]string, 0, len(commonKeys))
	for k := range commonKeys {
		names = append(names, k)
	}
	sv := reflect.ValueOf(settings).Elem()
	if err := d.structure(own, sv, path, names); err != nil {
		errs.add(err)
		return errs.err()
	}
	if hasUnmarshaler(sv.Type()) && len(own.Content) > 0 {
		if err := d.viaYAML(own, sv, path); err != nil {
			errs.add(err)
			return errs.err()
		}
	}
	reported, err := d.checkSinkNodes(own, path, c.Type)
	errs.add(err)
	if err := st.validate(settings); err != nil {
		errs.add(d.sinkValidateErrors(own, path, c.Type, err, reported))
	}
	if err := errs.err(); err != nil {
		return err
	}
	*sc = SinkConfig{
		Name: c.Name,
		Type: c.Type,
		Runner: sinks.RunnerConfig{
			MaxBatchSamples:   c.MaxBatchSamples,
			FlushInterval:     c.FlushInterval,
			MaxPendingSamples: c.MaxPendingSamples,
			MaxQueueBytes:     int64(c.MaxQueueBytes),
			Concurrency:       c.Concurrency,
			RetryWaitMax:      c.MaxBackoff,
		},
		ResendAfter:         c.ResendAfter,
		WriteRelabelConfigs: c.WriteRelabelConfigs,
		Settings:            settings,
		Line:                n.Line,
		Aggregate:           c.Aggregate,
	}
	return nil
}

// encodeNode renders the sink flat again: common keys, then type keys.
func (sc SinkConfig) encodeNode() (*yaml.Node, error) {
	c := sinkCommon{
		Name:                sc.Name,
		Type:                sc.Type,
		MaxBatchSamples:     sc.Runner.MaxBatchSamples,
		FlushInterval:       sc.Runner.FlushInterval,
		MaxPendingSamples:   sc.Runner.MaxPendingSamples,
		MaxQueueBytes:       ByteSize(sc.Runner.MaxQueueBytes),
		Concurrency:         sc.Runner.Concurrency,
		MaxBackoff:          sc.Runner.RetryWaitMax,
		ResendAfter:         sc.ResendAfter,
		WriteRelabelConfigs: sc.WriteRelabelConfigs,
		Aggregate:           sc.Aggregate,
	}
	n, err := encodeValue(reflect.ValueOf(c))
	if err != nil {
		return nil, err
	}
	if sc.Settings != nil {
		sv := reflect.ValueOf(sc.Settings)
		for sv.Kind() == reflect.Pointer && !sv.IsNil() {
			sv = sv.Elem()
		}
		if sv.Kind() == reflect.Struct {
			if err := appendFields(n, sv); err != nil {
				return nil, fmt.Errorf("sink %s: %w", sc.Name, err)
			}
		}
	}
	n.Style = 0
	return n, nil
}

// EffectiveResendAfter is the sink's dedupe heartbeat: its own
// resend_after, else dedupe.resend_after when dedupe is enabled, except for
// remote_write, which defaults to 0 (every scrape is sent): a Prometheus
// receiver answers rate(), changes() and *_over_time() from the samples it
// holds, so skipping unchanged values changes their results.
func (sc SinkConfig) EffectiveResendAfter(d DedupeConfig) time.Duration {
	switch {
	case sc.ResendAfter != nil:
		return *sc.ResendAfter
	case !d.Enabled || sc.Type == "remote_write":
		return 0
	}
	return d.ResendAfter
}
