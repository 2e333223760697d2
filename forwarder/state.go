package forwarder

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

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/diskqueue"
)

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
// A sink with delivery state (hec.Sink with indexer acknowledgement: its
// channel and the ackIds of requests HEC accepted but has not confirmed)
// saves it in the same place. That state describes requests still in the
// queue, not what was encoded, so its requests > N are kept like a stateless
// sink's; and it is saved once more when the sink is released, after its
// senders stopped, so a clean stop or reload loses no outstanding ackId.
const (
	stateFileName   = "state.bin"
	stateMagic      = "PFST"
	stateVersion    = 1
	checkpointEvery = 200 * time.Millisecond
)

// statefulSink is a sink whose encoding depends on what it encoded before
// (datadog.Sink: counter baselines).
type statefulSink interface {
	SnapshotState() ([]byte, error)
	RestoreState([]byte) error
}

// deliveryStateSink is a sink that remembers requests it is delivering
// (hec.Sink: outstanding indexer acks). Its state never discards queued
// requests at start; see the note at the top of this file.
type deliveryStateSink interface {
	SnapshotDelivery() ([]byte, error)
	RestoreDelivery([]byte) error
}

// savedState is the content of state.bin.
type savedState struct {
	Seq    uint64
	Dedupe []byte
	Sink   []byte
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errBadStateFile = errors.New("malformed state file")

// marshal: magic, version, seq u64, u32 len + dedupe, u32 len + sink,
// CRC-32C of everything before it.
func (s savedState) marshal() []byte {
	b := make([]byte, 0, len(stateMagic)+1+8+8+len(s.Dedupe)+len(s.Sink)+4)
	b = append(b, stateMagic...)
	b = append(b, stateVersion)
	b = binary.LittleEndian.AppendUint64(b, s.Seq)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.Dedupe)))
	b = append(b, s.Dedupe...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.Sink)))
	b = append(b, s.Sink...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func unmarshalState(b []byte) (savedState, error) {
	var s savedState
	if len(b) < len(stateMagic)+1+8+4+4+4 || string(b[:len(stateMagic)]) != stateMagic {
		return s, errBadStateFile
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return s, fmt.Errorf("%w: checksum mismatch", errBadStateFile)
	}
	if v := body[len(stateMagic)]; v != stateVersion {
		return s, fmt.Errorf("%w: unsupported version %d", errBadStateFile, v)
	}
	p := body[len(stateMagic)+1:]
	s.Seq = binary.LittleEndian.Uint64(p)
	p = p[8:]
	for _, dst := range []*[]byte{&s.Dedupe, &s.Sink} {
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

// durableState is a sink's disk queue and checkpoint.
type durableState struct {
	statePath string
	queue     *diskqueue.Queue
	log       *zap.Logger
	// gate: scrapes hold it shared while they filter and submit; the
	// checkpoint holds it exclusively.
	gate       sync.RWMutex
	lastErrLog time.Time
	// saved is the last state written or loaded (under gate), so release
	// can rewrite it with a final delivery state; ok once there is one.
	saved   savedState
	savedOK bool
	// beforeCheckpoint, if set (tests only, before Run), runs at the start
	// of each checkpoint: the moment a crash leaves requests on disk that
	// no saved state covers.
	beforeCheckpoint func()
}

// openDurable restores st's dedupe memory and sink state from
// data_dir/<sink>/state.bin, opens its disk queue and wires the queue and
// the checkpoint into rc. A missing or unreadable state file starts empty
// (logged); only a directory that cannot be used is an error.
func (f *Forwarder) openDurable(st *sinkState, rc *sinks.RunnerConfig, dataDir string) error {
	dir := filepath.Join(dataDir, st.name)
	log := f.log.With(zap.String("sink", st.name))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sink %s: data dir: %w", st.name, err)
	}
	d := &durableState{statePath: filepath.Join(dir, stateFileName), log: log}
	saved, found := d.load()
	d.saved, d.savedOK = saved, found
	stateful, isStateful := st.sink.(statefulSink)
	if found {
		if err := st.dedupe.Restore(saved.Dedupe); err != nil {
			log.Warn("state: dedupe memory not restored", zap.String("file", d.statePath), zap.Error(err))
		}
		if len(saved.Sink) > 0 {
			var err error
			if isStateful {
				err = stateful.RestoreState(saved.Sink)
			} else if ds, ok := st.sink.(deliveryStateSink); ok {
				err = ds.RestoreDelivery(saved.Sink)
			}
			if err != nil {
				log.Warn("state: sink state not restored", zap.String("file", d.statePath), zap.Error(err))
			}
		}
	}
	lanes := sinks.Lanes(st.sink, rc.Concurrency) // as NewRunner will
	q, err := diskqueue.Open(filepath.Join(dir, "queue"), diskqueue.Options{
		MaxBytes:     rc.MaxQueueBytes,
		Lanes:        lanes,
		DropAfter:    found && isStateful,
		DropAfterSeq: saved.Seq,
		MinSeq:       saved.Seq,
		Now:          f.clock.Now,
		Logger:       log,
	})
	if errors.Is(err, diskqueue.ErrLocked) {
		return fmt.Errorf("sink %s: its queue under data_dir is in use (by another promfwd, or by this one: changing a sink's settings with data_dir set needs a restart): %w", st.name, err)
	}
	if err != nil {
		return fmt.Errorf("sink %s: %w", st.name, err)
	}
	d.queue = q
	rc.Queue = q
	rc.Checkpoint = func(flush func()) { d.checkpoint(st, flush) }
	rc.CheckpointEvery = checkpointEvery
	st.durable = d
	return nil
}

// load reads state.bin; found is false when there is none or it is damaged.
func (d *durableState) load() (savedState, bool) {
	b, err := os.ReadFile(d.statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return savedState{}, false
	}
	if err == nil {
		var s savedState
		if s, err = unmarshalState(b); err == nil {
			return s, true
		}
	}
	d.log.Warn("state: ignoring unreadable state file; dedupe and counter baselines start empty",
		zap.String("file", d.statePath), zap.Error(err))
	return savedState{}, false
}

// checkpoint is the runner's Checkpoint hook (see the consistency argument
// at the top of this file).
func (d *durableState) checkpoint(st *sinkState, flush func()) {
	d.gate.Lock()
	defer d.gate.Unlock()
	if d.beforeCheckpoint != nil {
		d.beforeCheckpoint()
	}
	flush()
	seq := d.queue.LastSeq()
	err := d.queue.Sync()
	s := savedState{Seq: seq, Dedupe: st.dedupe.Snapshot()}
	if ss, ok := st.sink.(statefulSink); ok && err == nil {
		s.Sink, err = ss.SnapshotState()
	} else if ds, ok := st.sink.(deliveryStateSink); ok && err == nil {
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

// admit filters samples through st's dedupe and submits what is left,
// under the checkpoint gate; it returns how many were skipped as unchanged.
func (st *sinkState) admit(samples []scrape.Sample) (skipped int) {
	st.swap.RLock()
	if nx := st.next; nx != nil { // replaced by a reload (reload_durable.go)
		st.swap.RUnlock()
		return nx.admit(samples)
	}
	defer st.swap.RUnlock()
	if d := st.durable; d != nil {
		d.gate.RLock()
		defer d.gate.RUnlock()
	}
	out, skipped := st.dedupe.Filter(samples)
	if len(out) > 0 {
		st.runner.Submit(out)
	}
	return skipped
}

// release closes st's disk queue after its runner stopped: what is left in
// it stays on disk for the next start.
func (st *sinkState) release() {
	if d := st.durable; d != nil {
		d.saveDelivery(st.sink)
		if err := d.queue.Release(); err != nil {
			d.log.Warn("state: closing disk queue", zap.Error(err))
		}
		if qs := d.queue.Stats(); qs.DiskRequests > 0 {
			d.log.Info("undelivered requests kept on disk for the next start",
				zap.Int("requests", qs.DiskRequests), zap.Int64("bytes", qs.DiskBytes))
		}
	}
}

// saveDelivery rewrites the state file with the sink's delivery state as it
// is now, its senders having stopped: the last checkpoint may predate
// ackIds received while the queue drained. The queue position and dedupe
// memory stay those of that checkpoint (nothing was encoded since).
func (d *durableState) saveDelivery(s sinks.Sink) {
	ds, ok := s.(deliveryStateSink)
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
