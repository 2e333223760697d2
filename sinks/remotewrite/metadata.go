package remotewrite

import (
	"slices"
	"time"

	"github.com/klauspost/compress/s2"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// MetadataConfig is Prometheus' remote_write metadata_config: metric
// metadata (TYPE, HELP, UNIT) goes out periodically in requests of its own
// (WriteRequest.metadata, remote-write 1.0), as a Prometheus agent does.
type MetadataConfig struct {
	// Send turns metadata on. Default true, as in Prometheus.
	Send bool `yaml:"send"`
	// SendInterval is how often the metadata of the families seen recently
	// is sent. Default 1m.
	SendInterval time.Duration `yaml:"send_interval"`
	// MaxSamplesPerSend caps the metadata entries of one request. Default 2000.
	MaxSamplesPerSend int `yaml:"max_samples_per_send"`
}

// DefaultMetadataConfig returns Prometheus' defaults.
func DefaultMetadataConfig() MetadataConfig {
	return MetadataConfig{Send: true, SendInterval: time.Minute, MaxSamplesPerSend: 2000}
}

// metaForget is how many send intervals a family's metadata is kept (and
// re-sent) after its last sample.
const metaForget = 10

// metaTracker remembers the metadata of the families the encoder saw and
// builds the periodic metadata requests. Used under the Sink's mu.
type metaTracker struct {
	cfg      MetadataConfig
	fams     map[string]metaEntry // by escaped family name
	last     *scrape.Meta         // the Meta seen last: samples of a family share one
	lastSent time.Time
}

type metaEntry struct {
	typ        scrape.Type
	help, unit string
	seen       time.Time
}

func newMetaTracker(cfg MetadataConfig) *metaTracker {
	if !cfg.Send {
		return nil
	}
	return &metaTracker{cfg: cfg, fams: make(map[string]metaEntry)}
}

// observe records the metadata of every family in samples at now.
func (m *metaTracker) observe(samples []scrape.Sample, now time.Time) {
	for i := range samples {
		meta := samples[i].Meta
		if meta == nil || meta == m.last || meta.Family == "" {
			continue
		}
		m.last = meta
		m.fams[EscapeMetricName(meta.Family)] = metaEntry{typ: meta.Type, help: meta.Help, unit: meta.Unit, seen: now}
	}
	m.last = nil // a later batch may reuse the address for another family
}

// due returns the metadata requests when SendInterval has passed since the
// last ones, forgetting families not seen for metaForget intervals.
func (m *metaTracker) due(now time.Time) []sinks.Request {
	if now.Sub(m.lastSent) < m.cfg.SendInterval {
		return nil
	}
	m.lastSent = now
	names := make([]string, 0, len(m.fams))
	for name, e := range m.fams {
		if now.Sub(e.seen) > metaForget*m.cfg.SendInterval {
			delete(m.fams, name)
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	var out []sinks.Request
	for len(names) > 0 {
		n := min(len(names), m.cfg.MaxSamplesPerSend)
		var buf []byte
		for _, name := range names[:n] {
			buf = appendMetadata(buf, name, m.fams[name])
		}
		names = names[n:]
		out = append(out, sinks.Request{Body: s2.EncodeSnappy(nil, buf)})
	}
	return out
}

// appendMetadata appends one MetricMetadata (WriteRequest field 3): type = 1
// (prompb.MetricMetadata_MetricType, whose values scrape.Type mirrors),
// metric_family_name = 2, help = 4, unit = 5.
func appendMetadata(buf []byte, name string, e metaEntry) []byte {
	var m []byte
	if e.typ != scrape.TypeUnknown {
		m = protowire.AppendTag(m, 1, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(e.typ))
	}
	m = protowire.AppendTag(m, 2, protowire.BytesType)
	m = protowire.AppendString(m, name)
	if e.help != "" {
		m = protowire.AppendTag(m, 4, protowire.BytesType)
		m = protowire.AppendString(m, e.help)
	}
	if e.unit != "" {
		m = protowire.AppendTag(m, 5, protowire.BytesType)
		m = protowire.AppendString(m, e.unit)
	}
	buf = protowire.AppendTag(buf, 3, protowire.BytesType)
	return protowire.AppendBytes(buf, m)
}
