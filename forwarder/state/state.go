// Package state is promfwd's durable memory: the dedupe filter (Dedupe),
// the staleness tracker (Staleness), and, with data_dir set, each sink's
// checkpoint (Durable) that saves the dedupe memory and the sink's own state
// in state.bin in step with its disk queue, so that a restart neither
// re-sends nor loses samples. It is handed plain values (a directory, a
// resend period, a sink) and knows nothing of the config file.
//
// # The checkpoint protocol
//
// Durable delivery (data_dir set). Per sink, data_dir/<sink>/ holds
//
//	queue/     the disk queue of encoded requests (sinks/diskqueue)
//	state.bin  the checkpoint: the queue sequence number it matches, the
//	           dedupe memory and the sink's own encoding state (Datadog
//	           counter baselines)
//
// Consistency argument. The checkpoint runs in the runner's batcher
// goroutine, the only caller of Encode, with the sink's admission gate held
// exclusively, so no scrape can filter or submit meanwhile:
//
//  1. flush: everything submitted (and so everything dedupe recorded as
//     sent) is encoded and pushed; pushes are written to the queue files.
//  2. seq = the last pushed sequence number; fsync the queue.
//  3. snapshot dedupe and the sink state: both describe exactly the
//     requests with sequence numbers <= seq, no more, no less.
//  4. write state.bin atomically (temp file, fsync, rename, fsync dir).
//  5. Commit(seq): only now may senders deliver requests up to seq.
//
// After a crash at any point, state.bin describes seq N and the queue holds
// every unacknowledged request <= N (pushed and synced before the state was
// renamed). Requests > N were never delivered (step 5 comes last). For a
// sink with encoding state they are discarded at start: the restored
// baselines are those before them, so the next scrape's delta covers their
// interval exactly once (no loss, no double count; gauges among them are
// lost, a window of one encode cycle). For a stateless sink they are kept.
// The dedupe memory restored is that of N, so no value is re-sent early and
// none that was never queued is suppressed.
//
// A sink with transform stages (Options.Stage: stream aggregation's
// counter baselines, totals and open windows) saves their snapshot in the
// same checkpoint, taken under the same exclusive gate: the stages run in
// the admission that the gate serializes against the checkpoint, so the
// snapshot describes exactly the samples admitted up to seq N, and the
// outputs they flushed are in requests <= N. At start its requests > N are
// discarded like an encoding-state sink's: the restored windows and
// baselines produce them again from the next scrapes, so a window's
// increase is counted once (the raw samples among them are lost, one
// checkpoint interval at most).
//
// A sink with delivery state (hec.Sink with indexer acknowledgement: its
// channel and the ackIds of requests HEC accepted but has not confirmed)
// saves it in the same place. That state describes requests still in the
// queue, not what was encoded, so its requests > N are kept like a stateless
// sink's; and it is saved once more when the sink is released, after its
// senders stopped, so a clean stop or reload loses no outstanding ackId.
package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/transform"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/diskqueue"
)

const (
	// FileName is the checkpoint's name in a sink's directory.
	FileName = "state.bin"
	// CheckpointEvery is how often the runner checkpoints a durable sink.
	CheckpointEvery = 200 * time.Millisecond

	stateMagic   = "PFST"
	stateVersion = 2 // 2 added the transform section; version 1 files still load
)

// statefulSink is a sink whose encoding depends on what it encoded before
// (datadog.Sink: counter baselines).
type statefulSink interface {
	SnapshotState() ([]byte, error)
	RestoreState([]byte) error
}

// deliveryStateSink is a sink that remembers requests it is delivering
// (hec.Sink: outstanding indexer acks). Its state never discards queued
// requests at start; see the package doc.
type deliveryStateSink interface {
	SnapshotDelivery() ([]byte, error)
	RestoreDelivery([]byte) error
}

// SavedState is the content of state.bin: the queue sequence number it
// matches, the dedupe snapshot, the sink's own state and the snapshot of
// the sink's transform stages (aggregation windows and baselines).
type SavedState struct {
	Seq    uint64
	Dedupe []byte
	Sink   []byte
	Stages []byte
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errBadStateFile = errors.New("malformed state file")

// marshal: magic, version, seq u64, u32 len + dedupe, u32 len + sink,
// u32 len + stages (version 2), CRC-32C of everything before it.
func (s SavedState) marshal() []byte {
	b := make([]byte, 0, len(stateMagic)+1+8+12+len(s.Dedupe)+len(s.Sink)+len(s.Stages)+4)
	b = append(b, stateMagic...)
	b = append(b, stateVersion)
	b = binary.LittleEndian.AppendUint64(b, s.Seq)
	for _, sec := range [][]byte{s.Dedupe, s.Sink, s.Stages} {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(sec)))
		b = append(b, sec...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func unmarshalState(b []byte) (SavedState, error) {
	var s SavedState
	if len(b) < len(stateMagic)+1+8+4+4+4 || string(b[:len(stateMagic)]) != stateMagic {
		return s, errBadStateFile
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return s, fmt.Errorf("%w: checksum mismatch", errBadStateFile)
	}
	sections := []*[]byte{&s.Dedupe, &s.Sink, &s.Stages}
	switch v := body[len(stateMagic)]; v {
	case stateVersion:
	case 1:
		sections = sections[:2]
	default:
		return s, fmt.Errorf("%w: unsupported version %d", errBadStateFile, v)
	}
	p := body[len(stateMagic)+1:]
	s.Seq = binary.LittleEndian.Uint64(p)
	p = p[8:]
	for _, dst := range sections {
		if len(p) < 4 || int(binary.LittleEndian.Uint32(p)) > len(p)-4 {
			return s, errBadStateFile
		}
		n := int(binary.LittleEndian.Uint32(p))
		*dst = p[4 : 4+n]
		p = p[4+n:]
	}
	if len(p) != 0 {
		return s, errBadStateFile
	}
	return s, nil
}

// writeFileAtomic replaces path with data: temp file, fsync, rename, fsync
// of the directory. A crash leaves the old or the new file, never a mix.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Durable is a sink's disk queue and checkpoint.
type Durable struct {
	statePath string
	queue     *diskqueue.Queue
	log       *zap.Logger
	dedupe    *Dedupe
	sink      sinks.Sink
	stage     transform.Stage // nil: the sink has no transform stages
	// gate: scrapes hold it shared while they filter and submit; the
	// checkpoint holds it exclusively.
	gate       sync.RWMutex
	lastErrLog time.Time
	// saved is the last state written or loaded (under gate), so release
	// can rewrite it with a final delivery state; ok once there is one.
	saved   SavedState
	savedOK bool
	// BeforeCheckpoint, if set (tests only, before Run), runs at the start
	// of each checkpoint: the moment a crash leaves requests on disk that
	// no saved state covers.
	BeforeCheckpoint func()
}

// Options say where a sink's durable state lives and how its disk queue is
// sized.
type Options struct {
	Dir           string // data_dir/<sink>: state.bin and queue/
	Name          string // the sink's name, for errors
	MaxQueueBytes int64
	Lanes         int // the runner's concurrency
	Now           func() time.Time
	Log           *zap.Logger
	// Stage is the sink's transform chain, whose state (aggregation
	// windows, counter baselines) rides in the checkpoint; nil for none.
	// Like encoding state, it makes requests beyond the checkpoint be
	// discarded at start: the restored state re-creates them.
	Stage transform.Stage
}

// Open restores dd's memory and sink's state from Dir/state.bin and opens
// the disk queue in Dir/queue. A missing or unreadable state file starts
// empty (logged); only a directory that cannot be used is an error. The
// caller wires Queue and Checkpoint into the sink's runner.
func Open(o Options, dd *Dedupe, sink sinks.Sink) (*Durable, error) {
	dir, log := o.Dir, o.Log
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sink %s: data dir: %w", o.Name, err)
	}
	d := &Durable{statePath: filepath.Join(dir, FileName), log: log, dedupe: dd, sink: sink, stage: o.Stage}
	saved, found := d.Load()
	d.saved, d.savedOK = saved, found
	stateful, isStateful := sink.(statefulSink)
	if found {
		if err := dd.Restore(saved.Dedupe); err != nil {
			log.Warn("state: dedupe memory not restored", zap.String("file", d.statePath), zap.Error(err))
		}
		if len(saved.Sink) > 0 {
			var err error
			if isStateful {
				err = stateful.RestoreState(saved.Sink)
			} else if ds, ok := sink.(deliveryStateSink); ok {
				err = ds.RestoreDelivery(saved.Sink)
			}
			if err != nil {
				log.Warn("state: sink state not restored", zap.String("file", d.statePath), zap.Error(err))
			}
		}
		if o.Stage != nil {
			if err := o.Stage.Restore(saved.Stages); err != nil {
				log.Warn("state: aggregation state not restored", zap.String("file", d.statePath), zap.Error(err))
			}
		}
	}
	q, err := diskqueue.Open(filepath.Join(dir, "queue"), diskqueue.Options{
		MaxBytes:     o.MaxQueueBytes,
		Lanes:        o.Lanes,
		DropAfter:    found && (isStateful || o.Stage != nil),
		DropAfterSeq: saved.Seq,
		MinSeq:       saved.Seq,
		Now:          o.Now,
		Logger:       log,
	})
	if errors.Is(err, diskqueue.ErrLocked) {
		return nil, fmt.Errorf("sink %s: its queue under data_dir is in use (by another promfwd, or by this one: changing a sink's settings with data_dir set needs a restart): %w", o.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", o.Name, err)
	}
	d.queue = q
	return d, nil
}

// Queue is the sink's disk queue.
func (d *Durable) Queue() *diskqueue.Queue { return d.queue }

// Load reads state.bin; found is false when there is none or it is damaged.
func (d *Durable) Load() (SavedState, bool) {
	b, err := os.ReadFile(d.statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return SavedState{}, false
	}
	if err == nil {
		var s SavedState
		if s, err = unmarshalState(b); err == nil {
			return s, true
		}
	}
	d.log.Warn("state: ignoring unreadable state file; dedupe and counter baselines start empty",
		zap.String("file", d.statePath), zap.Error(err))
	return SavedState{}, false
}

// Load reads the state file at path, as Durable.Load does.
func Load(path string, log *zap.Logger) (SavedState, bool) {
	return (&Durable{statePath: path, log: log}).Load()
}

// Checkpoint is the runner's Checkpoint hook (see the consistency argument
// in the package doc).
func (d *Durable) Checkpoint(flush func()) {
	d.gate.Lock()
	defer d.gate.Unlock()
	if d.BeforeCheckpoint != nil {
		d.BeforeCheckpoint()
	}
	flush()
	seq := d.queue.LastSeq()
	err := d.queue.Sync()
	s := SavedState{Seq: seq, Dedupe: d.dedupe.Snapshot()}
	if d.stage != nil {
		s.Stages = d.stage.Snapshot()
	}
	if ss, ok := d.sink.(statefulSink); ok && err == nil {
		s.Sink, err = ss.SnapshotState()
	} else if ds, ok := d.sink.(deliveryStateSink); ok && err == nil {
		s.Sink, err = ds.SnapshotDelivery()
	}
	if err == nil {
		err = writeFileAtomic(d.statePath, s.marshal())
	}
	if err == nil {
		d.saved, d.savedOK = s, true
	}
	if err != nil {
		// The disk is failing: keep delivering rather than stall; a crash
		// now may double count, which beats losing everything queued.
		if now := time.Now(); now.Sub(d.lastErrLog) >= time.Minute {
			d.lastErrLog = now
			d.log.Error("state: checkpoint failed", zap.String("file", d.statePath), zap.Error(err))
		}
	}
	d.queue.Commit(seq)
}

// AdmitLock holds the checkpoint gate shared while a scrape filters
// samples through the dedupe memory and submits them to the runner, so that
// no checkpoint falls between the two; AdmitUnlock releases it.
func (d *Durable) AdmitLock() { d.gate.RLock() }

// AdmitUnlock releases what AdmitLock holds.
func (d *Durable) AdmitUnlock() { d.gate.RUnlock() }

// Release closes the disk queue after the sink's runner stopped: what is
// left in it stays on disk for the next start.
func (d *Durable) Release() {
	d.saveDelivery()
	if err := d.queue.Release(); err != nil {
		d.log.Warn("state: closing disk queue", zap.Error(err))
	}
	if qs := d.queue.Stats(); qs.DiskRequests > 0 {
		d.log.Info("undelivered requests kept on disk for the next start",
			zap.Int("requests", qs.DiskRequests), zap.Int64("bytes", qs.DiskBytes))
	}
}

// saveDelivery rewrites the state file with the sink's delivery state as it
// is now, its senders having stopped: the last checkpoint may predate
// ackIds received while the queue drained. The queue position and dedupe
// memory stay those of that checkpoint (nothing was encoded since).
func (d *Durable) saveDelivery() {
	ds, ok := d.sink.(deliveryStateSink)
	if !ok {
		return
	}
	d.gate.Lock()
	defer d.gate.Unlock()
	if !d.savedOK {
		return // nothing saved yet to complete
	}
	b, err := ds.SnapshotDelivery()
	if err == nil {
		saved := d.saved
		saved.Sink = b
		err = writeFileAtomic(d.statePath, saved.marshal())
	}
	if err != nil {
		d.log.Warn("state: saving outstanding deliveries at stop", zap.String("file", d.statePath), zap.Error(err))
	}
}
