// Package stdout is the sink that prints every sample as one JSON line on
// standard output (or any writer). It serves the quickstart and
// `promfwd once`, and shows what the other sinks receive before conversion.
package stdout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// DefaultMaxRequestBytes is the default bound on one request's body.
const DefaultMaxRequestBytes = 1 << 20

// Config configures the stdout sink.
type Config struct {
	// Writer receives the lines; nil means os.Stdout. Not configurable from YAML.
	Writer io.Writer `yaml:"-"`
	// MaxRequestBytes bounds one request (one write). A histogram or summary
	// group is never split, so one group larger than this travels alone.
	MaxRequestBytes sinks.ByteSize `yaml:"max_request_bytes,omitempty"`
}

// DefaultConfig returns the configuration used when the config file gives none.
func DefaultConfig() Config {
	return Config{MaxRequestBytes: DefaultMaxRequestBytes}
}

// Validate reports a configuration the sink cannot run with.
func (c *Config) Validate() error {
	if c.MaxRequestBytes < 0 || c.MaxRequestBytes > 64<<20 {
		return fmt.Errorf("stdout: max_request_bytes %d: must be between 1 and %d (0 for the default)", c.MaxRequestBytes, 64<<20)
	}
	return nil
}

// Sink writes JSON lines. Encode is called from one goroutine; Send may be
// called concurrently and writes whole requests, never interleaved.
type Sink struct {
	w        io.Writer
	maxBytes int
	mu       sync.Mutex // serialises writes
}

var _ sinks.Sink = (*Sink)(nil)

// New builds the sink. set is accepted for symmetry with the other sinks;
// the stdout sink neither logs nor retries.
func New(cfg Config, _ sinks.Settings) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sink{w: cfg.Writer, maxBytes: int(cfg.MaxRequestBytes)}
	if s.w == nil {
		s.w = os.Stdout
	}
	if s.maxBytes == 0 {
		s.maxBytes = DefaultMaxRequestBytes
	}
	return s, nil
}

// Encode renders one line per sample, skipping staleness markers, and cuts
// requests of at most MaxRequestBytes between groups.
//
//	{"time_ms":1700000000123,"name":"x_total","labels":{"a":"b"},"value":1.5,"kind":"counter"}
func (s *Sink) Encode(samples []scrape.Sample) (sinks.Encoded, error) {
	var enc sinks.Encoded
	buf := make([]byte, 0, min(s.maxBytes, 128*len(samples)))
	n := 0 // samples in buf
	for i := 0; i < len(samples); {
		end := scrape.GroupEnd(samples, i)
		mark, markN := len(buf), n
		for j := i; j < end; j++ {
			if scrape.IsStaleNaN(samples[j].Value) {
				continue
			}
			buf = appendLine(buf, &samples[j])
			n++
		}
		if len(buf) > s.maxBytes && mark > 0 {
			// The group does not fit: close the request before it.
			enc.Requests = append(enc.Requests, sinks.Request{Body: buf[:mark:mark], Samples: markN})
			rest := make([]byte, len(buf)-mark, max(s.maxBytes, len(buf)-mark))
			copy(rest, buf[mark:])
			buf, n = rest, n-markN
		}
		i = end
	}
	if len(buf) > 0 {
		enc.Requests = append(enc.Requests, sinks.Request{Body: buf, Samples: n})
	}
	return enc, nil
}

// Send writes the request in one Write. A failed or short write is
// retryable: the lines may appear twice, never lost (at-least-once).
func (s *Sink) Send(ctx context.Context, req sinks.Request) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stdout: write: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.w.Write(req.Body)
	if err == nil && n < len(req.Body) {
		err = io.ErrShortWrite
	}
	if err != nil {
		if errors.Is(err, os.ErrClosed) {
			return &sinks.PermanentError{Reason: "output closed", Err: err}
		}
		return fmt.Errorf("stdout: write: %w", err)
	}
	return nil
}

// Close does nothing: the writer (os.Stdout by default) belongs to the caller.
func (s *Sink) Close() error { return nil }
