package forwarder

import (
	"path/filepath"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/state"
	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
)

// openDurable restores st's dedupe memory and sink state from
// data_dir/<sink>/state.bin, opens its disk queue and wires the queue and
// the checkpoint into rc (see package state for the checkpoint protocol).
func (f *Forwarder) openDurable(st *sinkState, rc *sinks.RunnerConfig, dataDir string) error {
	lanes := sinks.Lanes(st.sink, rc.Concurrency) // as NewRunner will
	d, err := state.Open(state.Options{
		Dir:           filepath.Join(dataDir, st.name),
		Name:          st.name,
		MaxQueueBytes: rc.MaxQueueBytes,
		Lanes:         lanes,
		Now:           f.clock.Now,
		Log:           f.log.With(zap.String("sink", st.name)),
		Stage:         st.stages.stage(), // aggregate.go
	}, st.dedupe, st.sink)
	if err != nil {
		return err
	}
	rc.Queue = d.Queue()
	rc.Checkpoint = d.Checkpoint
	rc.CheckpointEvery = state.CheckpointEvery
	st.durable = d
	return nil
}

// admit runs samples through st's stages (aggregation) and dedupe and
// submits what is left, under the checkpoint gate. It returns how many
// samples the stages offered to dedupe and how many dedupe skipped as
// unchanged: with an aggregating sink the offered ones are the aggregates
// and passed-through series, not the raw input.
func (st *sinkState) admit(samples []scrape.Sample) (offered, skipped int) {
	return st.admitBatch(samples, nil)
}

// admitBatch is admit for samples read from a pooled batch (batchref.go):
// each part submitted holds a reference of its own, which the runner
// releases once the part is encoded or dropped. The caller keeps batch.
func (st *sinkState) admitBatch(samples []scrape.Sample, batch *scrape.BatchRef) (offered, skipped int) {
	st.swap.RLock()
	if nx := st.next; nx != nil { // replaced by a reload (reload_durable.go)
		st.swap.RUnlock()
		return nx.admitBatch(samples, batch)
	}
	defer st.swap.RUnlock()
	if d := st.durable; d != nil {
		d.AdmitLock()
		defer d.AdmitUnlock()
	}
	samples = st.stages.apply(samples)               // aggregate.go: per-sink transform chain
	parts, skipped := st.dedupe.FilterParts(samples) // views of samples, not a copy
	for _, p := range parts {
		st.runner.SubmitBatch(p, batch.Ref())
	}
	return len(samples), skipped
}

// release closes st's disk queue after its runner stopped: what is left in
// it stays on disk for the next start.
func (st *sinkState) release() {
	if d := st.durable; d != nil {
		d.Release()
	}
}
