package ddtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Payload is the body of POST /api/v2/series.
type Payload struct {
	Series []Series `json:"series"`
}

// Series is one series as the intake defines it. Pointer fields are
// required in the wire format; decode rejects their absence or null.
type Series struct {
	Metric         string     `json:"metric"`
	Type           int        `json:"type"` // 0 unspecified, 1 count, 2 rate, 3 gauge
	Points         []Point    `json:"points"`
	Resources      []Resource `json:"resources,omitempty"`
	Tags           []string   `json:"tags,omitempty"`
	Unit           string     `json:"unit,omitempty"`
	Interval       int64      `json:"interval,omitempty"`
	SourceTypeName string     `json:"source_type_name,omitempty"`
	Metadata       *Metadata  `json:"metadata,omitempty"`
}

// Point is one timestamped value; Timestamp is in seconds.
type Point struct {
	Timestamp *int64   `json:"timestamp"`
	Value     *float64 `json:"value"`
}

// Resource names the entity a series belongs to (type "host" for hosts).
type Resource struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Metadata is the intake's optional series metadata.
type Metadata struct {
	Origin *struct {
		OriginProduct       int `json:"origin_product"`
		OriginSubProduct    int `json:"origin_sub_product"`
		OriginProductDetail int `json:"origin_product_detail"`
	} `json:"origin,omitempty"`
}

// Tag returns the value of the first "name:value" tag with that name.
func (s Series) Tag(name string) (string, bool) {
	for _, t := range s.Tags {
		if len(t) > len(name) && t[len(name)] == ':' && t[:len(name)] == name {
			return t[len(name)+1:], true
		}
	}
	return "", false
}

// Host returns the name of the series' host resource, if any.
func (s Series) Host() string {
	for _, r := range s.Resources {
		if r.Type == "host" {
			return r.Name
		}
	}
	return ""
}

// Point timestamp window relative to the receiver's clock.
const (
	MaxAhead  = 10 * time.Minute
	MaxBehind = time.Hour
	// MaxNameLen is the longest metric name the intake accepts.
	MaxNameLen = 200
)

// decodePayload parses body strictly: unknown fields, wrong types, trailing
// data, a missing timestamp or value are errors.
func decodePayload(body []byte) (Payload, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var p Payload
	if err := dec.Decode(&p); err != nil {
		return Payload{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Payload{}, errors.New("invalid JSON: trailing data after the payload")
	}
	return p, nil
}

// validate checks the payload's semantics against the receiver's clock.
func validate(p Payload, now time.Time, allowReserved []string) error {
	if len(p.Series) == 0 {
		return errors.New("payload has no series")
	}
	lo, hi := now.Add(-MaxBehind).Unix(), now.Add(MaxAhead).Unix()
	for i, s := range p.Series {
		if err := validName(s.Metric); err != nil {
			return fmt.Errorf("series[%d]: %w", i, err)
		}
		if s.Type < 0 || s.Type > 3 {
			return fmt.Errorf("series[%d] %s: type %d is not 0-3", i, s.Metric, s.Type)
		}
		if len(s.Points) == 0 {
			return fmt.Errorf("series[%d] %s: no points", i, s.Metric)
		}
		if s.Interval < 0 {
			return fmt.Errorf("series[%d] %s: negative interval", i, s.Metric)
		}
		for j, pt := range s.Points {
			if pt.Timestamp == nil || pt.Value == nil {
				return fmt.Errorf("series[%d] %s: points[%d]: timestamp and value are required", i, s.Metric, j)
			}
			if ts := *pt.Timestamp; ts < lo || ts > hi {
				return fmt.Errorf("series[%d] %s: points[%d]: timestamp %d outside [%d, %d]", i, s.Metric, j, ts, lo, hi)
			}
		}
		for j, r := range s.Resources {
			if r.Name == "" || r.Type == "" {
				return fmt.Errorf("series[%d] %s: resources[%d]: name and type are required", i, s.Metric, j)
			}
		}
		for j, t := range s.Tags {
			if err := validTag(t, allowReserved); err != nil {
				return fmt.Errorf("series[%d] %s: tags[%d]: %w", i, s.Metric, j, err)
			}
		}
	}
	return nil
}

// validName enforces the metric name charset: ASCII letters, digits, '_'
// and '.', starting with a letter, at most MaxNameLen characters.
func validName(n string) error {
	if n == "" {
		return errors.New("metric name is empty")
	}
	if len(n) > MaxNameLen {
		return fmt.Errorf("metric name %.40q... longer than %d", n, MaxNameLen)
	}
	if c := n[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return fmt.Errorf("metric name %q does not start with a letter", n)
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return fmt.Errorf("metric name %q has invalid character %q", n, c)
		}
	}
	return nil
}

// MaxTagLen is the longest tag the intake keeps.
const MaxTagLen = 200

// ReservedTagKeys are the tag keys Datadog interprets itself.
var ReservedTagKeys = []string{"host", "device", "source", "service", "env", "version"}

// validTag enforces Datadog's tag rules. The intake does not reject a tag
// that breaks them: it lowercases, rewrites and truncates it, which can
// merge two series. The receiver rejects such a tag so that tests see it:
// a tag must be lowercase, start with a letter, hold only letters, digits,
// '_', '-', ':', '.' and '/', be at most MaxTagLen characters, not end
// with ':', and not use a reserved key unless allowed.
func validTag(t string, allowReserved []string) error {
	if t == "" {
		return errors.New("tag is empty")
	}
	if n := utf8.RuneCountInString(t); n > MaxTagLen {
		return fmt.Errorf("tag %.40q... is %d characters, over %d", t, n, MaxTagLen)
	}
	if !utf8.ValidString(t) {
		return fmt.Errorf("tag %q is not UTF-8", t)
	}
	for i, r := range t {
		switch {
		case i == 0 && !unicode.IsLetter(r):
			return fmt.Errorf("tag %q does not start with a letter", t)
		case unicode.ToLower(r) != r:
			return fmt.Errorf("tag %q is not lowercase", t)
		case !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-:./", r)):
			return fmt.Errorf("tag %q has invalid character %q", t, r)
		}
	}
	if strings.HasSuffix(t, ":") {
		return fmt.Errorf("tag %q ends with a colon", t)
	}
	if k, _, ok := strings.Cut(t, ":"); ok && slices.Contains(ReservedTagKeys, k) && !slices.Contains(allowReserved, k) {
		return fmt.Errorf("tag %q uses the reserved key %q", t, k)
	}
	return nil
}
