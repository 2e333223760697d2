// Package transform is the stage between a scrape and the sinks: a function
// over one scrape's []scrape.Sample (relabel, aggregate) that may keep
// per-series state, which it can snapshot and restore so that the state
// rides in the sink's checkpoint (package state) and survives a restart in
// step with the disk queue. It holds the contract (Stage) and the identity
// stage; aggregation implements it.
package transform

import (
	"errors"

	"github.com/promfwd/promfwd/scrape"
)

// Stage transforms the samples of one scrape.
//
// Contract:
//   - Apply is called by one goroutine at a time (the forwarder runs a
//     sink's stages under its admission gate and a lock: aggregate.go's
//     sinkStages), with the samples of one admission in exposition order
//     and the time nowMs (Unix milliseconds). It returns the samples
//     to forward; it may reuse in's backing array and must not keep in or
//     the result past the call. A sample group (histogram, summary: see
//     scrape.GroupEnd) is kept or dropped whole. Stale markers
//     (scrape.StaleNaN) pass through unless their series is dropped.
//   - Per-series state (say, running sums of an aggregation) lives in the
//     Stage. Snapshot encodes all of it; Restore(Snapshot()) on a fresh
//     Stage of the same configuration yields one that behaves identically.
//     Restore rejects bytes it cannot read, leaving the Stage as new.
//   - Snapshot and Restore are never called while Apply runs. A Stage
//     run under a sink's admission gate (package state: the checkpoint
//     holds it exclusively) gets that for free; its snapshot then
//     describes exactly the samples the sink's dedupe memory and queue
//     describe.
//
// The aggregation stage (transform/aggregate) is the one Stage the
// forwarder runs; relabeling (transform/relabel) is stateless across
// restarts and runs as relabel.Stage.Relabel, outside this contract.
type Stage interface {
	Apply(in []scrape.Sample, nowMs int64) []scrape.Sample
	Snapshot() []byte
	Restore(b []byte) error
}

// ErrBadSnapshot is returned by Restore for bytes that are not a snapshot
// of the Stage.
var ErrBadSnapshot = errors.New("transform: restore: malformed snapshot")

// Identity is the Stage that forwards every sample unchanged and keeps no
// state.
type Identity struct{}

// Apply returns in.
func (Identity) Apply(in []scrape.Sample, _ int64) []scrape.Sample { return in }

// Snapshot is empty: there is no state.
func (Identity) Snapshot() []byte { return nil }

// Restore accepts only the empty snapshot.
func (Identity) Restore(b []byte) error {
	if len(b) != 0 {
		return ErrBadSnapshot
	}
	return nil
}
