package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/promfwd/promfwd/forwarder/transform/aggregate"
)

// validateAggregate checks a sink's aggregate rules; an error is positioned
// at the rule's offending key (so it names the rule's line).
func validateAggregate(v validator, i int, s *SinkConfig) error {
	for j, r := range s.Aggregate {
		if err := aggregate.Compile(r); err != nil {
			var fe *aggregate.ErrField
			if errors.As(err, &fe) {
				return v.errAt(fe.Err.Error(), "sinks", i, "aggregate", j, fe.Key)
			}
			return v.errAt(err.Error(), "sinks", i, "aggregate", j)
		}
		s.Aggregate[j].Outputs = aggregate.JoinOutputs(r.Outputs)
	}
	return nil
}

// AggregateSummary describes a sink's rules for `promfwd check`: one line
// per rule with its selector and output names (the input metric name shown
// as <name>).
func (sc *SinkConfig) AggregateSummary() []string {
	var out []string
	for j, r := range sc.Aggregate {
		names, err := aggregate.OutputNames(r, "<name>")
		if err != nil {
			continue // validated already
		}
		keep := "dropped"
		if r.KeepInput {
			keep = "kept"
		}
		out = append(out, fmt.Sprintf("sink %s aggregate[%d] %s every %s -> %s (matched input %s)",
			sc.Name, j, r.Match, aggregate.FormatInterval(r.Interval), strings.Join(names, ", "), keep))
	}
	return out
}
